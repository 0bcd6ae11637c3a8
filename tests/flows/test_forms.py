"""A form's answers, as any front-end hands them over, become one lifecycle call; mistakes come back at the field."""

import pytest

from flows import forms
from flows import permissions as can
from flows.errors import Refused
from tests.conftest import MASH_MANAGER, MASH_WORKER, TEACHER, TEACHER_MANAGER
from tests.flows.steps import open_case


def test_the_answers_become_the_lifecycle_call(ctx):
    case = open_case(ctx)
    case = forms.submit(
        ctx,
        can.ESCALATE,
        case.reference,
        TEACHER,
        case.version,
        {"reason": "We talked; not agreed.", "next_holders": [TEACHER_MANAGER]},
    )
    assert case.current_stage == 2 and case.stage.raising == (TEACHER_MANAGER,)
    with pytest.raises(Refused) as refused:  # Sam held Stage 1 for MASH: not their own Stage 2 holder
        forms.submit(ctx, can.NAME_HOLDER, case.reference, MASH_WORKER, case.version, {"holders": [MASH_WORKER]})
    assert refused.value.field == "holders"
    case = forms.submit(ctx, can.NAME_HOLDER, case.reference, MASH_WORKER, case.version, {"holders": [MASH_MANAGER]})
    assert case.awaited_sides == () and case.stage.receiving == (MASH_MANAGER,)


def test_mistakes_come_back_at_the_field_whatever_shape_the_answers_have(ctx):
    case = open_case(ctx)
    answers = {
        "outcome_kind": "action_agreed",
        "decision_outcome": "d",
        "key_learning": "k",
        "outcome_date": "1 April",
        "nothing_outstanding": ["yes"],
    }
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.RESOLVE, case.reference, TEACHER, case.version, answers)
    assert refused.value.field == "outcome_date"
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.NOTE, case.reference, TEACHER, None, {"note_text": ["not", "text"]})
    assert refused.value.field == "note_text"
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.HAND_OVER, case.reference, TEACHER, case.version, {"to_person": "U0NOBODY"})
    assert refused.value.field == "to_person"
