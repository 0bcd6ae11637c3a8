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


def _every_form(ctx):
    """Each form a person can meet, as the people on a case at Stage 2 would see it."""
    case = open_case(ctx)
    case = forms.submit(
        ctx, can.ESCALATE, case.reference, TEACHER, case.version, {"reason": "r", "next_holders": [TEACHER_MANAGER]}
    )
    yield forms.gate_form()
    yield forms.raise_form(ctx.policy, "Teacher", ctx.policy.lists.agencies[0])
    for action in can.ACTIONS:
        if action not in (can.DETAILS, can.ANSWER_PROPOSAL):
            yield forms.case_form(ctx, action, case, TEACHER_MANAGER)


def test_every_field_is_one_a_front_end_can_draw_and_every_person_field_can_name_people_by_e_mail(ctx):
    seen = set()
    for form in _every_form(ctx):
        ids = [f.id for f in form.fields]
        assert len(ids) == len(set(ids)), form.id
        for field in form.fields:
            seen.add(field.kind)
            assert field.label and (field.options or field.kind not in (forms.Kind.CHOICE, forms.Kind.RADIO))
            if field.kind == forms.Kind.PEOPLE:
                assert field.id in forms.PEOPLE_FIELDS and forms.by_email(field.id) in ids
            if field.kind == forms.Kind.PERSON:
                assert field.id in forms.PERSON_FIELDS and forms.by_email(field.id) in ids
            for option in field.options:  # the policy's own limit on list entries
                assert len(option.value) <= 150
    assert seen == set(forms.Kind)


def test_several_people_can_be_named_by_e_mail_and_one_action_owner_by_address(ctx):
    case = open_case(ctx)
    answers = {
        "reason": "We talked; not agreed.",
        "next_holders": [TEACHER_MANAGER],
        "next_holders_by_email": "Dr A Khan <a.khan@nhs.net>; b.lee@croydon.gov.uk",
    }
    case = forms.submit(ctx, can.ESCALATE, case.reference, TEACHER, case.version, answers)
    assert [p.email or p.user_id for p in case.stage.raising][1:] == ["a.khan@nhs.net", "b.lee@croydon.gov.uk"]
    assert case.stage.raising[1].name == "Dr A Khan"
    answers = {
        "outcome_kind": "action_agreed",
        "decision_outcome": "Agreed a joint visit.",
        "key_learning": "Talk sooner.",
        "outcome_date": "2026-04-01",
        "action_2_what": "Joint visit",
        "action_2_owner_by_email": "Dr A Khan <a.khan@nhs.net>",
        "action_2_due": "2026-04-08",
    }
    with pytest.raises(Refused) as refused:  # the first row is empty: the second is refused at its own row
        forms.submit(ctx, can.RESOLVE, case.reference, TEACHER_MANAGER, case.version, dict(answers, action_2_due=""))
    assert refused.value.field == "action_2_due"
    case = forms.submit(ctx, can.RESOLVE, case.reference, TEACHER_MANAGER, case.version, answers)
    assert case.actions[0].owner.email == "a.khan@nhs.net"


@pytest.mark.parametrize(
    "field, typed, words",
    [
        ("next_holders_by_email", "a.khan@nhs.net, nobody", "e-mail address"),
        ("next_holders_by_email", "Dr Khan <>", "e-mail address"),
    ],
)
def test_a_mistyped_address_is_refused_at_the_e_mail_field_and_changes_nothing(ctx, field, typed, words):
    case = open_case(ctx)
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.ESCALATE, case.reference, TEACHER, case.version, {"reason": "r", field: typed})
    assert refused.value.field == field and words in refused.value.message
    assert forms.submit(ctx, can.NOTE, case.reference, TEACHER, None, {"note_text": "still here"}).current_stage == 1


def test_a_person_field_takes_a_person_or_an_address_not_both(ctx):
    case = open_case(ctx)
    answers = {"to_person": TEACHER_MANAGER, "to_person_by_email": "a.khan@nhs.net", "from_person": "x|y"}
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.HAND_OVER, case.reference, TEACHER, case.version, answers)
    assert refused.value.field == "to_person_by_email"


def test_a_form_that_acts_on_the_case_as_seen_must_say_which_version_it_saw(ctx):
    # A settled copy's buttons carry no version; a decision's form without one is not one of ours.
    case = open_case(ctx)
    escalation = {"reason": "r", "next_holders": [TEACHER_MANAGER]}
    with pytest.raises(Refused) as refused:
        forms.submit(ctx, can.ESCALATE, case.reference, TEACHER, None, escalation)
    assert "could not be read" in refused.value.message
    assert forms.submit(ctx, can.NOTE, case.reference, TEACHER, None, {"note_text": "still here"}).current_stage == 1
