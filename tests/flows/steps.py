"""Moving a case through its stages as the policy's people would, for the flows tests."""

from datetime import date

from flows import escalations as lifecycle
from flows.escalations import OutcomeForm
from tests.conftest import (
    DIRECTOR,
    MASH_DIRECTOR,
    MASH_MANAGER,
    MASH_SERVICE,
    MASH_WORKER,
    SERVICE_MANAGER,
    TEACHER,
    TEACHER_MANAGER,
    a_form,
)

# Who holds each stage: (raising side, receiving side); Stage 5 is the configured Executive.
HOLDERS = {
    1: (TEACHER, MASH_WORKER),
    2: (TEACHER_MANAGER, MASH_MANAGER),
    3: (SERVICE_MANAGER, MASH_SERVICE),
    4: (DIRECTOR, MASH_DIRECTOR),
}


def open_case(ctx, **changes):
    return lifecycle.open_escalation(
        ctx, TEACHER, a_form(**changes), child_at_immediate_risk=False, discussed_with_manager=True
    )


def formal_record(number: int) -> dict:
    """The notification form's answers a formal stage needs when it is escalated."""
    if number < 3:
        return {}
    return dict(
        concerns="Still no assessment.",
        decision_outcome="MASH upheld its decision.",
        key_learning="Reasons not shared in writing.",
    )


def escalate(ctx, case, *, name_other_side=True):
    """The raising side escalates to the next stage; the receiving side names its holder when asked."""
    number = case.current_stage
    raising = HOLDERS[number][0]
    nxt = HOLDERS.get(number + 1, (None, None))
    case = lifecycle.escalate(
        ctx,
        case.reference,
        raising,
        version=case.version,
        reason="Discussed; not agreed.",
        next_holders=[nxt[0]] if nxt[0] else [],
        **formal_record(number),
    )
    if nxt[1] and name_other_side:
        case = lifecycle.name_holder(ctx, case.reference, HOLDERS[number][1], version=case.version, holders=[nxt[1]])
    return case


def to_stage(ctx, case, number: int, **kwargs):
    while case.current_stage < number:
        case = escalate(ctx, case, **kwargs)
    return case


def outcome(number: int = 1, **changes) -> OutcomeForm:
    values = dict(
        outcome_kind="action_agreed",
        decision_outcome="Joint visit agreed.",
        key_learning="Talk before deciding.",
        outcome_date=date(2026, 4, 1),
        nothing_outstanding=True,
        concerns="Assessment delayed." if number in (3, 4) else "",
    )
    values.update(changes)
    return OutcomeForm(**values)
