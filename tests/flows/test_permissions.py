"""Who may do what: every role × every action × every stage, walked from the policy file's table itself.

Each person's roles at each stage are stated here; what they may do is read from the table. An allowed
action goes through on a fresh case; a refused one changes nothing (only the refusal is audited).
"""

import itertools
from datetime import date

import pytest
from sqlmodel import select

from flows import escalations as lifecycle
from flows import permissions as can
from flows.errors import Refused
from flows.people import PersonRef
from storage.models import AuditEvent, Escalation
from tests.conftest import (
    CSCP_MEMBER,
    DIRECTOR,
    EXECUTIVE,
    MASH_DIRECTOR,
    MASH_MANAGER,
    MASH_SERVICE,
    MASH_WORKER,
    SERVICE_MANAGER,
    STRANGER,
    TEACHER,
    TEACHER_MANAGER,
)
from tests.flows.steps import HOLDERS, escalate, formal_record, open_case, outcome, to_stage

PEOPLE = [
    TEACHER,
    MASH_WORKER,
    TEACHER_MANAGER,
    MASH_MANAGER,
    SERVICE_MANAGER,
    MASH_SERVICE,
    DIRECTOR,
    MASH_DIRECTOR,
    EXECUTIVE,
    CSCP_MEMBER,
    STRANGER,
]
_new = itertools.count(1)


def newcomer() -> PersonRef:
    number = next(_new)
    return PersonRef("slack", f"U0NEW{number}", f"New Colleague {number}", f"new{number}@agency.example")


def expected_roles(stage: int, person: PersonRef, awaiting: bool = False) -> set[str]:
    """Where each person stands at `stage` (with the receiving side's new holder still awaited, if so)."""
    roles = set()
    if person == TEACHER:
        roles.add(can.RAISER)
    if stage < 5:
        raising, receiving = HOLDERS[stage]
        if awaiting:
            receiving = HOLDERS[stage - 1][1]  # the receiving side's last holder acts until it names the new one
        if person == raising:
            roles.add(can.RAISING_HOLDER)
        if person == receiving:
            roles.add(can.RECEIVING_HOLDER)
    if stage == 5 and person == EXECUTIVE:
        roles.add(can.EXECUTIVE)
    on_case = {p for n in range(1, min(stage, 4) + 1) for p in HOLDERS[n]}
    if awaiting:
        on_case.discard(HOLDERS[stage][1])
    if person in on_case and not roles & {can.RAISING_HOLDER, can.RECEIVING_HOLDER, can.EXECUTIVE}:
        roles.add(can.EARLIER_HOLDER)
    if person == CSCP_MEMBER and stage >= 3:
        roles.add(can.PARTNERSHIP_TEAM)
    return roles


def build(ctx, stage: int, variant: str):
    case = open_case(ctx)
    if variant == "awaiting":
        case = to_stage(ctx, case, stage - 1)
        return escalate(ctx, case, name_other_side=False)
    case = to_stage(ctx, case, stage)
    if variant == "proposal":
        case = lifecycle.propose_resolution(
            ctx, case.reference, HOLDERS[stage][1], version=case.version, outcome=outcome(stage)
        )
    return case


def attempt(ctx, case, actor: PersonRef, action: str):
    ref, version, stage = case.reference, case.version, case.current_stage
    holder = HOLDERS[stage][0] if stage < 5 else EXECUTIVE
    runs = {
        can.NOTE: lambda: lifecycle.add_note(ctx, ref, actor, "Spoke to them."),
        can.RESOLVE: lambda: lifecycle.resolve(ctx, ref, actor, version=version, outcome=outcome(stage)),
        can.PROPOSE_RESOLUTION: lambda: lifecycle.propose_resolution(
            ctx, ref, actor, version=version, outcome=outcome(stage)
        ),
        can.ANSWER_PROPOSAL: lambda: lifecycle.answer_proposal(ctx, ref, actor, version=version, accept=True),
        can.ESCALATE: lambda: lifecycle.escalate(
            ctx, ref, actor, version=version, reason="Not agreed.", next_holders=[newcomer()], **formal_record(stage)
        ),
        can.ASK_TO_ESCALATE: lambda: lifecycle.ask_to_escalate(ctx, ref, actor, reason="Please escalate."),
        can.NAME_HOLDER: lambda: lifecycle.name_holder(
            ctx, ref, actor, version=version, holders=[newcomer()], side=can.RECEIVING if actor == CSCP_MEMBER else None
        ),
        can.REQUEST_CONSULTATION: lambda: lifecycle.request_reflective_consultation(ctx, ref, actor, version=version),
        can.RECORD_CONSULTATION: lambda: lifecycle.record_consultation(
            ctx, ref, actor, version=version, arranged_for=date(2026, 4, 1)
        ),
        can.EXECUTIVE_DECISION: lambda: lifecycle.record_executive_decision(
            ctx, ref, actor, version=version, outcome=outcome(stage)
        ),
        can.CHASE: lambda: lifecycle.chase(ctx, ref, actor, holder=holder),
        can.HAND_OVER: lambda: lifecycle.hand_over(
            ctx,
            ref,
            actor,
            version=version,
            to_person=newcomer(),
            from_person=actor if actor.key in {p.key for p in case.stage.holders} else holder,
        ),
        can.WITHDRAW: lambda: lifecycle.withdraw(ctx, ref, actor, version=version, reason="Agreed."),
        can.CORRECT_DETAILS: lambda: lifecycle.correct_details(
            ctx, ref, actor, field_name="child_initials", value="A.B."
        ),
        can.DETAILS: lambda: lifecycle.view_case(ctx, ref, actor),
    }
    return runs[action]()


def snapshot(ctx):
    """Everything but the audit trail, where a refusal is recorded (with the person and account it names)."""
    with ctx.db.transaction() as session:
        tables = [t for t in Escalation.metadata.sorted_tables if t.name not in ("audit_event", "person", "account")]
        return {t.name: [tuple(r) for r in session.connection().execute(t.select()).all()] for t in tables}


VARIANTS = {can.ANSWER_PROPOSAL: "proposal", can.NAME_HOLDER: "awaiting"}


@pytest.mark.parametrize("stage", [1, 2, 3, 4, 5])
def test_every_role_and_every_action_at_every_stage_as_the_table_says(ctx, stage):
    table = ctx.policy.permissions
    bases = {}
    walked = allowed_count = 0
    for action in can.ACTIONS:
        variant = VARIANTS.get(action, "plain")
        if variant == "proposal" and stage == 5 or variant == "awaiting" and stage in (1, 5):
            continue  # no proposal at the Executive's stage; nobody is awaited at Stages 1 and 5
        if variant not in bases:
            bases[variant] = build(ctx, stage, variant)
        base = bases[variant]
        for person in PEOPLE:
            roles = lifecycle.roles_on(ctx, base, person)
            assert roles == expected_roles(stage, person, variant == "awaiting"), (stage, person.name)
            granted = roles & set(table[action])
            if action == can.NAME_HOLDER:
                granted -= {can.RAISING_HOLDER}  # a side names only its own holder: here the receiving side's
            allowed = can.applies(action, base) and bool(granted)
            walked += 1
            if allowed:
                allowed_count += 1
                fresh = build(ctx, stage, variant)
                attempt(ctx, fresh, person, action)  # goes through
                continue
            before = snapshot(ctx)
            with pytest.raises(Refused):
                attempt(ctx, base, person, action)
            assert snapshot(ctx) == before, (stage, action, person.name)
    assert walked >= 11 * 12 and allowed_count > 0


def test_a_refused_attempt_is_audited_but_shown_only_to_the_partnership(ctx):
    from flows.queries import history

    case = to_stage(ctx, open_case(ctx), 3)
    with pytest.raises(Refused):
        lifecycle.resolve(ctx, case.reference, MASH_SERVICE, version=case.version, outcome=outcome(3))
    with ctx.db.transaction() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).all()
    assert "refused" not in {e.action for e in history(ctx, case, TEACHER)}
    assert "refused" in {e.action for e in history(ctx, case, CSCP_MEMBER)}


def test_the_cards_buttons_are_the_readers_own(ctx):
    case = to_stage(ctx, open_case(ctx), 3)
    assert lifecycle.actions_for(ctx, case, SERVICE_MANAGER) == [
        can.NOTE,
        can.RESOLVE,
        can.ESCALATE,
        can.REQUEST_CONSULTATION,
        can.HAND_OVER,
        can.WITHDRAW,
        can.DETAILS,
    ]
    assert lifecycle.actions_for(ctx, case, MASH_SERVICE) == [
        can.NOTE,
        can.PROPOSE_RESOLUTION,
        can.ASK_TO_ESCALATE,
        can.REQUEST_CONSULTATION,
        can.HAND_OVER,
        can.DETAILS,
    ]
    assert lifecycle.actions_for(ctx, case, TEACHER) == [can.NOTE, can.CORRECT_DETAILS, can.DETAILS]
    # The partnership's post carries the partnership's actions.
    assert lifecycle.actions_for(ctx, case, None) == [
        can.NOTE,
        can.RECORD_CONSULTATION,
        can.CHASE,
        can.HAND_OVER,
        can.DETAILS,
    ]
    assert lifecycle.actions_for(ctx, case, STRANGER) == []
