"""Who may do what on a case: the policy file's table of actions × roles, enforced here for every front-end.

A person's roles on a case come from where they stand at its current stage. The table says which roles
may take each action; `applies` says whether the action makes sense at this point of the case at all
(a decision only at the Executive's stage, an answer only to a pending proposal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # records imports the policy, which imports this module's names
    from flows.people import PersonRef
    from flows.records import CaseView

# The sides of a case. The raising side has the concern; the receiving side's decision is challenged;
# the partnership is the CSCP team and, at the Executive's stage, the Executive.
RAISING, RECEIVING, PARTNERSHIP = "raising", "receiving", "partnership"
SIDES = (RAISING, RECEIVING)

# Roles a person can have on a case at its current stage.
RAISER = "raiser"
RAISING_HOLDER = "raising_holder"
RECEIVING_HOLDER = "receiving_holder"
EARLIER_HOLDER = "earlier_holder"
PARTNERSHIP_TEAM = "partnership"
EXECUTIVE = "executive"
ROLES = (RAISER, RAISING_HOLDER, RECEIVING_HOLDER, EARLIER_HOLDER, PARTNERSHIP_TEAM, EXECUTIVE)
SIDE_ROLE = {RAISING: RAISING_HOLDER, RECEIVING: RECEIVING_HOLDER}

# The actions, in the order a card shows them.
NOTE = "note"
RESOLVE = "resolve"
PROPOSE_RESOLUTION = "propose_resolution"
ANSWER_PROPOSAL = "answer_proposal"
ESCALATE = "escalate"
ASK_TO_ESCALATE = "ask_to_escalate"
NAME_HOLDER = "name_holder"
REQUEST_CONSULTATION = "request_consultation"
RECORD_CONSULTATION = "record_consultation"
EXECUTIVE_DECISION = "executive_decision"
CHASE = "chase"
HAND_OVER = "hand_over"
WITHDRAW = "withdraw"
CORRECT_DETAILS = "correct_details"
DETAILS = "details"
ACTIONS = (
    NOTE,
    RESOLVE,
    PROPOSE_RESOLUTION,
    ANSWER_PROPOSAL,
    ESCALATE,
    ASK_TO_ESCALATE,
    NAME_HOLDER,
    REQUEST_CONSULTATION,
    RECORD_CONSULTATION,
    EXECUTIVE_DECISION,
    CHASE,
    HAND_OVER,
    WITHDRAW,
    CORRECT_DETAILS,
    DETAILS,
)
# The paperwork: documents asked for, not buttons that change a case. The notification form and the record
# for an agency's file are a case's; the themes report covers every case.
NOTIFICATION_FORM = "notification_form"
RECORD_FOR_FILE = "record_for_file"
REPORT = "report"
DOCUMENTS = (NOTIFICATION_FORM, RECORD_FOR_FILE)
# Every action the policy's [permissions] table names.
ALL_ACTIONS = (*ACTIONS, *DOCUMENTS, REPORT)
# Who may have the paperwork when a policy (or a case's copy of one, kept from before the paperwork existed)
# does not say: anyone on the case may have its documents, only the partnership team the report.
ON_THE_CASE = [RAISING_HOLDER, RECEIVING_HOLDER, EARLIER_HOLDER, PARTNERSHIP_TEAM, EXECUTIVE]
DEFAULT_PERMISSIONS = {NOTIFICATION_FORM: ON_THE_CASE, RECORD_FOR_FILE: ON_THE_CASE, REPORT: [PARTNERSHIP_TEAM]}
# Actions that need no open case: reading it, its documents, and erasing a mistake in it.
ON_CLOSED_CASES = {DETAILS, CORRECT_DETAILS, *DOCUMENTS}


def roles_of(case: CaseView, person: PersonRef, is_partnership_member: bool) -> frozenset[str]:
    """Where `person` stands on `case` now. Empty: they are not part of it."""
    key = person.key
    roles = set()
    if key == case.raiser.key:
        roles.add(RAISER)
    for side in SIDES:
        if key in {p.key for p in case.acting_holders(side)}:
            roles.add(SIDE_ROLE[side])
    if key in {p.key for p in case.stage.executive}:
        roles.add(EXECUTIVE)
    if not roles & {RAISING_HOLDER, RECEIVING_HOLDER, EXECUTIVE} and case.involved(person):
        roles.add(EARLIER_HOLDER)
    if is_partnership_member and case.policy.partnership_informed_at(case.current_stage):
        roles.add(PARTNERSHIP_TEAM)
    return frozenset(roles)


def applies(action: str, case: CaseView) -> bool:
    """Does `action` make sense at this point of the case, whoever asks?"""
    if action == NOTIFICATION_FORM:
        # The form is completed from the stage the policy names, open or closed; a case closed before has none.
        return case.policy.notification_form_at(case.current_stage)
    if not case.is_open:
        return action in ON_CLOSED_CASES
    stage_rule = case.policy.stage(case.current_stage)
    executive_stage = stage_rule.holders == "executive"
    pending = case.pending_proposal is not None
    if action in (RESOLVE, PROPOSE_RESOLUTION):
        return not executive_stage and not (action == PROPOSE_RESOLUTION and pending)
    if action == ANSWER_PROPOSAL:
        return pending
    if action in (ESCALATE, ASK_TO_ESCALATE):
        return not case.is_final_stage
    if action == EXECUTIVE_DECISION:
        return executive_stage
    if action == REQUEST_CONSULTATION:
        return (
            case.policy.reflective_consultation_at(case.current_stage)
            and case.stage.reflective_consultation_requested_at is None
        )
    if action == RECORD_CONSULTATION:
        return case.policy.reflective_consultation_at(case.current_stage) and case.stage.consultation_held_on is None
    if action == NAME_HOLDER:
        return bool(case.awaited_sides)
    if action == HAND_OVER:
        return not executive_stage  # who the Executive are is the deployment's set-up, not a hand-over
    return True


def permitted(case: CaseView, action: str, roles: frozenset[str]) -> bool:
    allowed = roles & set(case.policy.permissions.get(action, ()))
    if action == NAME_HOLDER:
        # A side names only its own holder, and only while it is awaited.
        allowed = {
            r
            for r in allowed
            if r not in SIDE_ROLE.values() or any(SIDE_ROLE[side] == r for side in case.awaited_sides)
        }
    return bool(allowed)


def available_actions(case: CaseView, roles: frozenset[str]) -> list[str]:
    """What a reader with `roles` may do now, in card order: the buttons on their copy."""
    return [a for a in ACTIONS if applies(a, case) and permitted(case, a, roles)]
