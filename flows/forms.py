"""The forms behind a case's actions, as any front-end submits them: one function from the answers to the
lifecycle call. Answers are keyed by field id: text, a list of choices, an ISO date, or people already
resolved to PersonRef by the front-end (the fields in PEOPLE_FIELDS and PERSON_FIELDS)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flows import escalations as lifecycle
from flows import permissions as can
from flows.context import Context
from flows.errors import Refused
from flows.escalations import ActionForm, OutcomeForm
from flows.people import PersonRef
from flows.records import CaseView

# Rows for agreed actions on a resolution: what, who, by when.
ACTION_ROWS = 3
# Fields that name several people, and fields that name one.
PEOPLE_FIELDS = frozenset({"next_holders", "other_side_holders", "holders"})
PERSON_FIELDS = frozenset({"to_person", *(f"action_{row}_owner" for row in range(1, ACTION_ROWS + 1))})
# Fields that choose one of the case's current holders, by person_choice(); the front-end passes the value back.
HOLDER_CHOICE_FIELDS = frozenset({"holder", "from_person"})


def person_choice(person: PersonRef) -> str:
    """The value of a choice among the case's holders (see HOLDER_CHOICE_FIELDS)."""
    return f"{person.platform}|{person.user_id}"


def _chosen(value: Any) -> PersonRef:
    platform, _, user_id = str(value or "").partition("|")
    return PersonRef(platform, user_id)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None  # the lifecycle asks for the date again, at its field


def _text(answers: dict, field: str) -> str:
    value = answers.get(field)
    return value if isinstance(value, str) else ""


def _outcome(answers: dict) -> OutcomeForm:
    return OutcomeForm(
        outcome_kind=_text(answers, "outcome_kind"),
        concerns=_text(answers, "concerns"),
        decision_outcome=_text(answers, "decision_outcome"),
        key_learning=_text(answers, "key_learning"),
        outcome_date=_date(answers.get("outcome_date")),
        actions=[
            ActionForm(
                _text(answers, f"action_{row}_what"),
                answers.get(f"action_{row}_owner"),
                _date(answers.get(f"action_{row}_due")),
            )
            for row in range(1, ACTION_ROWS + 1)
        ],
        nothing_outstanding="yes" in (answers.get("nothing_outstanding") or []),
    )


def submit(
    ctx: Context, action: str, reference: str, actor: PersonRef, version: int | None, answers: dict[str, Any]
) -> CaseView:
    """Take `action` on the case with the form's `answers`. Refused, at the field that is wrong, or done."""
    people = {field: list(answers.get(field) or []) for field in PEOPLE_FIELDS}
    if action == can.NOTE:
        return lifecycle.add_note(
            ctx, reference, actor, _text(answers, "note_text"), _text(answers, "note_kind") or "discussion"
        )
    if action == can.RESOLVE:
        return lifecycle.resolve(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.PROPOSE_RESOLUTION:
        return lifecycle.propose_resolution(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.EXECUTIVE_DECISION:
        return lifecycle.record_executive_decision(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.ANSWER_PROPOSAL:
        accept = {"accept": True, "decline": False}.get(_text(answers, "answer"))
        return lifecycle.answer_proposal(
            ctx, reference, actor, version=version, accept=accept, reason=_text(answers, "decline_reason")
        )
    if action == can.ESCALATE:
        return lifecycle.escalate(
            ctx,
            reference,
            actor,
            version=version,
            reason=_text(answers, "reason"),
            next_holders=people["next_holders"],
            other_side_holders=people["other_side_holders"],
            concerns=_text(answers, "concerns"),
            decision_outcome=_text(answers, "decision_outcome"),
            key_learning=_text(answers, "key_learning"),
        )
    if action == can.ASK_TO_ESCALATE:
        return lifecycle.ask_to_escalate(ctx, reference, actor, reason=_text(answers, "reason"))
    if action == can.NAME_HOLDER:
        return lifecycle.name_holder(
            ctx, reference, actor, version=version, holders=people["holders"], side=_text(answers, "side") or None
        )
    if action == can.WITHDRAW:
        return lifecycle.withdraw(ctx, reference, actor, version=version, reason=_text(answers, "reason"))
    if action == can.REQUEST_CONSULTATION:
        return lifecycle.request_reflective_consultation(
            ctx, reference, actor, version=version, note=_text(answers, "consultation_note")
        )
    if action == can.RECORD_CONSULTATION:
        return lifecycle.record_consultation(
            ctx,
            reference,
            actor,
            version=None,
            arranged_for=_date(answers.get("consultation_arranged_for")),
            held_on=_date(answers.get("consultation_held_on")),
            agreed_actions=_text(answers, "consultation_actions"),
        )
    if action == can.CHASE:
        return lifecycle.chase(
            ctx, reference, actor, holder=_chosen(answers.get("holder")), message=_text(answers, "chase_message")
        )
    if action == can.HAND_OVER:
        to_person = answers.get("to_person")
        if not isinstance(to_person, PersonRef):
            raise Refused("Choose who takes over.", field="to_person")
        return lifecycle.hand_over(
            ctx, reference, actor, version=version, from_person=_chosen(answers.get("from_person")), to_person=to_person
        )
    if action == can.CORRECT_DETAILS:
        return lifecycle.correct_details(
            ctx, reference, actor, field_name=_text(answers, "field_name"), value=_text(answers, "value")
        )
    raise Refused("That form is not one of ours.")
