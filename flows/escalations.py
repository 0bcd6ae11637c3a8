"""The case lifecycle as plain functions. Any front-end (Slack, Teams, the command line) calls these.

Every function either changes the case whole, with its audit event and the messages it implies
written to the outbox in the same transaction, or raises Refused and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from flows import permissions as can
from flows import topics, validation
from flows.context import Context
from flows.errors import Refused
from flows.people import EMAIL_PLATFORM, PersonRef, field_naming
from flows.permissions import PARTNERSHIP, RAISING, RECEIVING
from flows.persons import acting_from, as_known, find_person, person_row
from flows.policy import Policy
from flows.records import CaseView, HistoryEntry, load_case, person_ref
from storage.atomic import next_reference_number
from storage.models import (
    AgreedAction,
    AuditEvent,
    CaseNote,
    CaseStatus,
    Escalation,
    EscalationProfessional,
    OutboxMessage,
    Person,
    ProposalStatus,
    ResolutionProposal,
    StageHolder,
    StageRecord,
)

# Logs name cases by reference only: nothing about a child is ever written to them.
log = logging.getLogger(__name__)

NOTE_KINDS = {
    "discussion": "Discussion",
    "call": "Phone call",
    "meeting": "Meeting",
    "email": "Email",
    "other": "Other",
}
# Notes the bot writes for a step that is part of the record.
ASKED_TO_ESCALATE_NOTE = "asked_to_escalate"
NOTE_WORDS = {**NOTE_KINDS, ASKED_TO_ESCALATE_NOTE: "Asked to escalate"}
OUTCOME_KINDS = {
    "decision_changed": "The decision was changed",
    "decision_upheld": "The decision was upheld, with shared understanding",
    "action_agreed": "Action was agreed",
}


@dataclass
class EscalationForm:
    """What a raiser gives when opening an escalation (the notification form's questions)."""

    child_initials: str
    child_case_reference: str
    level_of_need: str
    raiser_role: str
    raiser_agency: str
    other_agency: str
    themes: list[str]
    key_dates: str
    evidence_of_need: str
    decision_disagreed: str
    interventions_to_date: str
    outcome_wanted: str
    professionals: list[PersonRef] = field(default_factory=list)
    # Equality fields from the form: optional, used only in aggregate reports.
    age_band: str = ""
    gender: str = ""
    ethnicity: str = ""
    send: str = ""


@dataclass
class ActionForm:
    """How an outstanding issue will be pursued: what, who, by when."""

    what: str
    owner: PersonRef | None
    due_on: date | None


@dataclass
class OutcomeForm:
    """A stage's outcome, as the notification form asks for it; actions on what is still outstanding."""

    outcome_kind: str
    decision_outcome: str
    key_learning: str
    outcome_date: date | None
    actions: list[ActionForm] = field(default_factory=list)
    nothing_outstanding: bool = False
    # The concerns as they stand, asked at formal stages.
    concerns: str = ""


# ---------------------------------------------------------------- helpers


def _person(session: Session, ref: PersonRef) -> Person:
    return person_row(session, ref)


def _link_account(session: Session, ref: PersonRef) -> None:
    """A known person acting from a new account: link it first, so the case shows them as they are now."""
    if find_person(session, ref) is not None:
        person_row(session, ref)


def _unique(people: Iterable[Person]) -> list[Person]:
    """Each person once, in order (table rows are not hashable)."""
    return list({person.id: person for person in people}.values())


def _validated_person(ref: PersonRef, field_name: str, check: validation.Checks) -> PersonRef:
    if not ref.user_id:
        raise Refused("Choose a person.", field=field_name)
    if ref.platform == EMAIL_PLATFORM:
        where = field_naming(ref, field_name)
        validation.email(ref.email or ref.user_id, where)
        check.limited_text(ref.name, where, "the name with the address", 200)
    return ref


def _audit(session: Session, ctx: Context, escalation_id: int | None, actor: Person | None, action: str, **detail: Any):
    session.add(
        AuditEvent(
            escalation_id=escalation_id,
            actor_id=actor.id if actor else None,
            at=ctx.clock.now(),
            action=action,
            detail=detail,
        )
    )


def _tell(
    session: Session,
    ctx: Context,
    escalation_id: int,
    topic: str,
    audience: str,
    recipient: Person | None = None,
    **payload: Any,
) -> None:
    if recipient is not None and recipient.platform == EMAIL_PLATFORM and not ctx.email_enabled:
        # Without e-mail, someone named only by e-mail is reached by the raiser, who is told what to pass on.
        payload = {**payload, "about": topic, "person": recipient.platform_user_id}
        topic, recipient = topics.CONTACT_BY_HAND, session.get(Person, session.get(Escalation, escalation_id).raiser_id)
    session.add(
        OutboxMessage(
            escalation_id=escalation_id,
            topic=topic,
            audience=audience,
            recipient_id=recipient.id if recipient else None,
            payload=payload,
            created_at=ctx.clock.now(),
        )
    )


def _normalised_reference(reference: str) -> str:
    """ESC-2026-0001 however it is typed: esc-2026-1 finds it too."""
    text = (reference or "").strip().upper()
    match = re.match(r"^ESC-(\d{4})-0*(\d{1,6})$", text)
    return f"ESC-{match.group(1)}-{int(match.group(2)):04d}" if match else text


def is_reference(text: str) -> bool:
    return bool(re.match(r"^ESC-\d{4}-\d{1,6}$", (text or "").strip(), re.IGNORECASE))


def _not_found(reference: str) -> Refused:
    # The same words whether the case does not exist or exists but is not the asker's: strangers learn nothing.
    return Refused(f"There is no escalation {reference} that you can see.", reason="not_found")


def _find(session: Session, reference: str, *, for_change: bool = False) -> Escalation:
    query = select(Escalation).where(Escalation.reference == _normalised_reference(reference))
    if for_change:
        # Changes to one case queue behind each other (on PostgreSQL; SQLite's write lock already does it),
        # so the later one reads the version the earlier one wrote and is refused as stale, instead of
        # failing half-way on a stage the earlier one has just added.
        query = query.with_for_update()
    escalation = session.exec(query).first()
    if escalation is None:
        raise _not_found(reference)
    return escalation


def _current_stage(session: Session, escalation: Escalation) -> StageRecord:
    return session.exec(
        select(StageRecord).where(
            StageRecord.escalation_id == escalation.id, StageRecord.number == escalation.current_stage
        )
    ).one()


def _refuse_and_audit(ctx: Context, escalation_id: int, actor: PersonRef, action: str, refusal: Refused) -> None:
    """A refused attempt is recorded, in its own transaction, then refused. Members' History leaves it out."""
    with ctx.db.transaction() as session:
        _audit(session, ctx, escalation_id, _person(session, actor), "refused", attempted=action)
    log.info("refused %s on escalation id %s: %s", action, escalation_id, refusal.reason)
    raise refusal


# Words for refusals: who may take an action, and what the action is.
ROLE_WORDS = {
    can.RAISER: "the person who raised it",
    can.RAISING_HOLDER: "the raising side's holder of this stage",
    can.RECEIVING_HOLDER: "the receiving side's holder of this stage",
    can.EARLIER_HOLDER: "people who held an earlier stage",
    can.PARTNERSHIP_TEAM: "the partnership team",
    can.EXECUTIVE: "the Executive",
}
ACTION_WORDS = {
    can.NOTE: "add a note",
    can.RESOLVE: "record that the concern is resolved",
    can.PROPOSE_RESOLUTION: "propose a resolution",
    can.ANSWER_PROPOSAL: "accept or decline a proposed resolution",
    can.ESCALATE: "escalate it",
    can.ASK_TO_ESCALATE: "ask the raising side to escalate",
    can.NAME_HOLDER: "name a side's holder for this stage",
    can.REQUEST_CONSULTATION: "request a reflective group consultation",
    can.RECORD_CONSULTATION: "record the reflective group consultation",
    can.EXECUTIVE_DECISION: "record the Executive's decision",
    can.CHASE: "chase a stage holder",
    can.HAND_OVER: "hand a stage over",
    can.WITHDRAW: "withdraw it",
    can.CORRECT_DETAILS: "correct the case's details",
    can.DETAILS: "see the case",
    can.NOTIFICATION_FORM: "have the Escalation Notification Form",
    can.RECORD_FOR_FILE: "have the record for an agency's file",
    can.REPORT: "have the themes report",
}


def _who_may(policy: Policy, action: str) -> str:
    roles = [ROLE_WORDS[r] for r in policy.permissions.get(action, [])]
    if not roles:
        return f"Nobody can {ACTION_WORDS[action]} under this policy."
    listed = roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1]
    return f"Only {listed} can {ACTION_WORDS[action]}."


class _Change:
    """A case loaded for `action` by `actor`, with the checks every action makes, in this order:
    is it theirs to see, is it still open, have they the latest version, may their role do it, does it
    make sense now. `refusal` is set (and nothing else) when the attempt is to be audited and refused."""

    def __init__(
        self, ctx: Context, session: Session, reference: str, actor: PersonRef, action: str, version: int | None
    ):
        self.ctx, self.session, self.action = ctx, session, action
        self.escalation = _find(session, reference, for_change=True)
        _link_account(session, actor)
        self.case = load_case(session, self.escalation)
        self.policy = self.case.policy
        known = as_known(session, actor)  # whichever platform they act from, the person the case knows
        self.roles = can.roles_of(
            self.case, known, ctx.is_partnership_member(actor) or ctx.is_partnership_member(known)
        )
        self.refusal: Refused | None = None
        if not self.roles:
            self.refusal = _not_found(reference)
            return
        if not self.case.is_open and action not in can.ON_CLOSED_CASES:
            raise Refused(
                f"{self.case.reference} is already {self.case.status}: nothing more can be done on it.", reason="closed"
            )
        if version is not None and version != self.escalation.version:
            raise Refused(
                f"{self.case.reference} has changed since you opened it. Nothing was done: "
                "look at the latest card and try again if it is still needed.",
                reason="stale",
            )
        if not can.permitted(self.case, action, self.roles):
            self.refusal = Refused(_who_may(self.policy, action), reason="not_allowed")
            return
        if not can.applies(action, self.case):
            raise Refused(f"That cannot be done on {self.case.reference} at this point: {_not_now(self.case, action)}")
        self.actor = acting_from(session, actor)
        self.stage = _current_stage(session, self.escalation)

    def bump_version(self, **values: Any) -> None:
        """Compare-and-set on the version: of two simultaneous changes, exactly one goes through."""
        result = self.session.execute(
            update(Escalation)
            .where(Escalation.id == self.escalation.id, Escalation.version == self.escalation.version)
            .values(version=self.escalation.version + 1, **values)
        )
        if result.rowcount != 1:
            raise Refused(
                f"{self.escalation.reference} was changed by someone else at the same moment. "
                "Nothing was done: look at the latest card.",
                reason="stale",
            )
        self.session.refresh(self.escalation)

    def audit(self, action: str | None = None, **detail: Any) -> None:
        _audit(
            self.session,
            self.ctx,
            self.escalation.id,
            self.actor,
            action or self.action,
            stage=self.escalation.current_stage,
            **detail,
        )

    def row(self, ref: PersonRef) -> Person:
        return _person(self.session, ref)

    def tell(self, topic: str, people: Iterable[PersonRef], **payload: Any) -> None:
        for person in _unique(self.row(p) for p in people):
            _tell(
                self.session,
                self.ctx,
                self.escalation.id,
                topic,
                topics.PERSON,
                person,
                stage=self.escalation.current_stage,
                **payload,
            )

    def tell_partnership(self, topic: str, **payload: Any) -> None:
        if self.policy.partnership_informed_at(self.escalation.current_stage):
            _tell(
                self.session,
                self.ctx,
                self.escalation.id,
                topic,
                topics.PARTNERSHIP,
                stage=self.escalation.current_stage,
                **payload,
            )

    def current_holders(self) -> list[PersonRef]:
        """Who holds the stage now, both sides (a side's last holder while its new one is awaited)."""
        case = self.case
        return [*case.acting_holders(RAISING), *case.acting_holders(RECEIVING), *case.stage.executive]

    def own_side(self) -> str:
        """The side the actor acts for: the raising side unless they hold only the receiving side's role."""
        if can.RAISING_HOLDER in self.roles:
            return RAISING
        if can.RECEIVING_HOLDER in self.roles:
            return RECEIVING
        return self.case.side_of(self.actor_ref) or RAISING

    @property
    def actor_ref(self) -> PersonRef:
        return PersonRef(self.actor.platform, self.actor.platform_user_id, self.actor.name, self.actor.email)


def _not_now(case: CaseView, action: str) -> str:
    if action in (can.RESOLVE, can.PROPOSE_RESOLUTION) and case.policy.executive_holds(case.current_stage):
        return f"at Stage {case.current_stage} {case.policy.executive_name} decides."
    if action == can.PROPOSE_RESOLUTION:
        return "a proposed resolution is already waiting for an answer."
    if action == can.ANSWER_PROPOSAL:
        return "there is no proposed resolution waiting for an answer."
    if action in (can.ESCALATE, can.ASK_TO_ESCALATE):
        return "it is at the final stage."
    if action == can.EXECUTIVE_DECISION:
        return f"{case.policy.executive_name} decides only at their own stage."
    if action in (can.REQUEST_CONSULTATION, can.RECORD_CONSULTATION):
        return "a reflective group consultation is not open at this stage."
    if action == can.NAME_HOLDER:
        return "both sides have named their holder for this stage."
    if action == can.NOTIFICATION_FORM:
        return f"the notification form is completed from Stage {case.policy.notification_form_from_stage}."
    return "it does not apply."


def _change(ctx: Context, reference: str, actor: PersonRef, action: str, version: int | None, apply) -> CaseView:
    """Run `apply(change)` in one transaction after the common checks; return the case as it now is.

    With apply=None nothing changes: the checks alone, for a front-end about to show a form.
    """
    with ctx.db.transaction() as session:
        change = _Change(ctx, session, reference, actor, action, version)
        if change.refusal is None:
            if apply is not None:
                apply(change)
                _tell(session, ctx, change.escalation.id, topics.CASE_UPDATED, topics.CARDS)
            view = load_case(session, change.escalation)
    if change.refusal is not None:
        _refuse_and_audit(ctx, change.escalation.id, actor, action, change.refusal)
    if apply is not None:
        log.info("%s on %s", action, view.reference)
    return view


def check_action(ctx: Context, reference: str, actor: PersonRef, action: str, version: int | None) -> CaseView:
    """May `actor` take `action` on the case as they last saw it? Refused (and audited) if not."""
    return _change(ctx, reference, actor, action, version, None)


def _next_reference(session: Session, year: int) -> str:
    return f"ESC-{year}-{next_reference_number(session, year):04d}"


def _start_stage(
    session: Session,
    ctx: Context,
    policy: Policy,
    escalation: Escalation,
    number: int,
    holders: dict[str, list[Person]],
    started_by: Person,
    reason: str = "",
) -> StageRecord:
    now = ctx.clock.now()
    stage_policy = policy.stage(number)
    stage = StageRecord(
        escalation_id=escalation.id,
        number=number,
        name=stage_policy.name,
        started_at=now,
        due_at=policy.working_calendar.stage_deadline(now, stage_policy.working_days),
        started_by_id=started_by.id,
        escalation_reason=reason,
    )
    session.add(stage)
    session.flush()
    for side, people in holders.items():
        for person in _unique(people):
            session.add(StageHolder(stage_id=stage.id, person_id=person.id, side=side))
    session.flush()
    return stage


def _check_new_holders(change: _Change, side: str, people: list[PersonRef], field_name: str) -> list[PersonRef]:
    """Nobody holds a stage above their own level on one case: not the other side's people, not someone who
    already held a stage for this side (so the raiser is never their own manager). People are compared as the
    bot knows them (by account or work e-mail), so no one gets past this under another account."""
    if not people:
        raise Refused("Name who holds this stage for your side.", field=field_name)
    if len(people) > 10:
        raise Refused("Name at most 10 people.", field=field_name)
    people = [_validated_person(p, field_name, change.ctx.checks) for p in people]
    case = change.case
    other = RECEIVING if side == RAISING else RAISING

    def rows(stage, side_: str) -> set[int]:
        return {change.row(p).id for p in (*stage.side(side_), *(f for w, f in stage.former if w == side_))}

    other_side = set().union(*(rows(stage, other) for stage in case.stages))
    this_side = [(stage, rows(stage, side)) for stage in case.stages]
    for person in people:
        name, row, field = person.name or "That person", change.row(person).id, field_naming(person, field_name)
        if row in other_side:
            raise Refused(
                f"{name} is on the other side of this escalation, so cannot hold a stage for yours.", field=field
            )
        for stage, held in this_side:
            if row in held:
                raise Refused(
                    f"{name} already held Stage {stage.number} for this side. Name the person at the "
                    "next level of seniority.",
                    field=field,
                )
    return people


def _validated_actions(change: _Change, actions: list[ActionForm], nothing_outstanding: bool) -> list[ActionForm]:
    """The policy asks for agreed outcomes and how outstanding issues will be pursued, in writing."""
    today = change.policy.working_calendar.local_date(change.ctx.clock.now())
    filled = [a for a in actions if (a.what or "").strip() or a.owner or a.due_on]
    if not filled and not nothing_outstanding:
        raise Refused(
            "Say how any outstanding issues will be pursued (what, who, by when), or tick that nothing is outstanding.",
            field="action_1_what",
        )
    if filled and nothing_outstanding:
        raise Refused(
            "You ticked that nothing is outstanding but also gave an action: choose one.", field="nothing_outstanding"
        )
    clean = []
    # Each action is refused at its own row of the form, whichever rows were left empty.
    rows = [(number, a) for number, a in enumerate(actions, start=1) if a in filled]
    for number, action in rows:
        what = change.ctx.checks.required_text(action.what, f"action_{number}_what", "what will be done", 1000)
        if action.owner is None:
            raise Refused("Choose who will do it.", field=f"action_{number}_owner")
        owner = _validated_person(action.owner, f"action_{number}_owner", change.ctx.checks)
        if action.due_on is None:
            raise Refused("Choose by when.", field=f"action_{number}_due")
        if action.due_on < today:
            raise Refused("The date cannot be in the past.", field=f"action_{number}_due")
        clean.append(ActionForm(what, owner, action.due_on))
    return clean


def _validated_outcome(change: _Change, outcome: OutcomeForm, *, with_actions: bool = True) -> dict[str, Any]:
    calendar = change.policy.working_calendar
    if outcome.outcome_kind not in OUTCOME_KINDS:
        raise Refused("Choose what the outcome was.", field="outcome_kind")
    number = change.escalation.current_stage
    # The Executive's stage has its concerns in the request that brought the case to it.
    formal = change.policy.stage(number).formal and not change.policy.executive_holds(number)
    check = change.ctx.checks
    clean = dict(
        outcome_kind=outcome.outcome_kind,
        concerns=(
            check.required_text(outcome.concerns, "concerns", "the concerns as they stand")
            if formal
            else check.limited_text(outcome.concerns, "concerns", "the concerns")
        ),
        decision_outcome=check.required_text(outcome.decision_outcome, "decision_outcome", "the decision or outcome"),
        key_learning=check.required_text(outcome.key_learning, "key_learning", "the key learning"),
        outcome_date=validation.outcome_date(
            outcome.outcome_date,
            calendar.local_date(change.ctx.clock.now()),
            calendar.local_date(change.escalation.opened_at),
        ),
    )
    if with_actions:
        clean["actions"] = _validated_actions(change, outcome.actions, outcome.nothing_outstanding)
    return clean


def _end_stage(
    change: _Change,
    how: str,
    resolved: bool | None,
    *,
    agreed_with: Iterable[PersonRef] = (),
    outcome_kind: str = "",
    concerns: str = "",
    decision_outcome: str = "",
    key_learning: str = "",
    outcome_date: date | None = None,
) -> None:
    stage = change.stage
    stage.ended_at = change.ctx.clock.now()
    calendar = change.policy.working_calendar
    stage.working_days_taken = calendar.working_days_between(
        calendar.local_date(stage.started_at), calendar.local_date(stage.ended_at)
    )
    stage.ended_how = how
    stage.ended_by_id = change.actor.id
    stage.agreed_with_ids = [p.id for p in _unique(change.row(p) for p in agreed_with)]
    stage.resolved = resolved
    stage.outcome_kind = outcome_kind
    stage.concerns = concerns
    stage.decision_outcome = decision_outcome
    stage.key_learning = key_learning
    stage.outcome_date = (
        outcome_date
        if outcome_date
        else (change.policy.working_calendar.local_date(stage.ended_at) if how == "escalated" else None)
    )
    change.session.add(stage)
    # A proposal not answered by the end of its stage lapses.
    for proposal in change.session.exec(
        select(ResolutionProposal).where(
            ResolutionProposal.escalation_id == change.escalation.id,
            ResolutionProposal.status == ProposalStatus.PENDING,
        )
    ):
        proposal.status = ProposalStatus.LAPSED
        change.session.add(proposal)


def _close_resolved(
    change: _Change, how: str, outcome: dict[str, Any], agreed_with: Iterable[PersonRef], topic: str
) -> None:
    actions = outcome.pop("actions", [])
    _end_stage(change, how, True, agreed_with=agreed_with, **outcome)
    for action in actions:
        change.session.add(
            AgreedAction(
                escalation_id=change.escalation.id,
                stage_number=change.escalation.current_stage,
                what=action.what,
                owner_id=change.row(action.owner).id,
                due_on=action.due_on,
                created_at=change.ctx.clock.now(),
            )
        )
    change.bump_version(
        status=CaseStatus.RESOLVED if how == "resolved" else CaseStatus.CLOSED, closed_at=change.ctx.clock.now()
    )
    change.audit(outcome_kind=outcome["outcome_kind"], resolved=True, actions=len(actions))
    _tell_closed(change, topic)


def _tell_closed(change: _Change, topic: str, **payload: Any) -> None:
    """Everyone on the case is told how it ended. Each side's last holders in chat have the record for their
    agency's file with it, in the same message (e-mail carries no files); the partnership has the notification
    form, as it now stands, with its notice."""
    record_side: dict[int, str] = {}  # no one holds a stage for both sides (_check_new_holders)
    for side in (RAISING, RECEIVING):
        holders = next((s.side(side) for s in reversed(change.case.stages) if s.side(side)), ())
        record_side.update((change.row(p).id, side) for p in holders if p.platform != EMAIL_PLATFORM)
    told: dict[str | None, list[PersonRef]] = {None: [], RAISING: [], RECEIVING: []}
    for person in change.case.people():
        told[record_side.get(change.row(person).id)].append(person)
    change.tell(topic, told[None], **payload)
    for side in (RAISING, RECEIVING):
        change.tell(topic, told[side], **payload, document=_document(can.RECORD_FOR_FILE, CLOSURE, side))
    change.tell_partnership(topic, **payload, **_notification_form(change, CLOSURE))


# Why a document is sent: a stage began, the case closed, or someone asked.
STAGE, CLOSURE, ASKED = "stage", "closure", "asked"


def _document(kind: str, occasion: str, side: str | None = None) -> dict[str, str]:
    """A document that goes with a notice, in the same message: the notice's payload names it by this."""
    return {"kind": kind, "occasion": occasion, **({"side": side} if side else {})}


def _notification_form(change: _Change, occasion: str) -> dict[str, Any]:
    """The notification form, as it stands, goes with the partnership's notice from the stage the policy says."""
    if change.policy.notification_form_at(change.escalation.current_stage):
        return {"document": _document(can.NOTIFICATION_FORM, occasion)}
    return {}


# ---------------------------------------------------------------- the use cases


def _raised_from(ctx: Context, submission_key: str | None, raiser: PersonRef) -> CaseView | None:
    """The case already raised from this form by this person, if any."""
    if submission_key is None:
        return None
    with ctx.db.transaction() as session:
        escalation = session.exec(select(Escalation).where(Escalation.submission_key == submission_key)).first()
        if escalation is None:
            return None
        view = load_case(session, escalation)
    return view if view.raiser.key == raiser.key else None


def open_escalation(
    ctx: Context,
    raiser: PersonRef,
    form: EscalationForm,
    *,
    child_at_immediate_risk: bool | None,
    discussed_with_manager: bool | None,
    submission_key: str | None = None,
) -> CaseView:
    """Open a case at Stage 1, once the policy's two gates are passed. The same form submitted again (a double
    click, a replay) answers with the case it already opened: `submission_key` names the form."""
    earlier = _raised_from(ctx, submission_key, raiser)
    if earlier is not None:
        return earlier
    try:
        return _open(ctx, raiser, form, child_at_immediate_risk, discussed_with_manager, submission_key)
    except IntegrityError:
        # The same form, submitted at the same moment, won the race: answer with its case.
        earlier = _raised_from(ctx, submission_key, raiser)
        if earlier is None:
            raise
        return earlier


def _open(
    ctx: Context,
    raiser: PersonRef,
    form: EscalationForm,
    child_at_immediate_risk: bool | None,
    discussed_with_manager: bool | None,
    submission_key: str | None,
) -> CaseView:
    policy = ctx.policy
    if child_at_immediate_risk is None:
        raise Refused("Please say whether a child is at immediate risk of harm.", field="immediate_risk")
    if child_at_immediate_risk:
        # Nothing is stored: immediate risk is for MASH or the emergency services now.
        raise Refused(policy.immediate_risk.guidance, field="immediate_risk", reason="immediate_risk")
    if not discussed_with_manager:
        raise Refused(
            "Before an escalation starts, talk it through with your line manager or safeguarding lead. "
            "If your concern is still there after that, come back and raise it here.",
            field="discussed_with_manager",
            reason="not_discussed",
        )
    clean = validated_details(policy, ctx.checks, form)
    professionals = [_validated_person(p, "professionals", ctx.checks) for p in form.professionals]
    if any(p.key == raiser.key for p in professionals):
        raise Refused("The professional you disagree with cannot be yourself.", field="professionals")
    if len(professionals) > 10:
        raise Refused("Name at most 10 professionals.", field="professionals")

    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        raiser_row = acting_from(session, raiser)
        # Remembered so the next escalation this person raises is quicker to fill in.
        raiser_row.role, raiser_row.agency = clean["raiser_role"], clean["raiser_agency"]
        escalation = Escalation(
            reference=_next_reference(session, policy.working_calendar.local_date(now).year),
            policy_snapshot=policy.snapshot(),
            raiser_id=raiser_row.id,
            opened_at=now,
            submission_key=submission_key,
            **clean,
        )
        session.add(escalation)
        session.flush()
        named = [(ref, _person(session, ref)) for ref in professionals]
        for ref, person in named:
            if person.id == raiser_row.id:  # themselves under another account or e-mail
                raise Refused(
                    "The professional you disagree with cannot be yourself.", field=field_naming(ref, "professionals")
                )
        professional_rows = _unique(person for _, person in named)
        for person in professional_rows:
            session.add(EscalationProfessional(escalation_id=escalation.id, person_id=person.id))
        # Stage 1 is the frontline practitioners talking directly: the raiser for the raising side, the
        # professionals for the receiving side.
        stage = _start_stage(
            session, ctx, policy, escalation, 1, {RAISING: [raiser_row], RECEIVING: professional_rows}, raiser_row
        )
        _audit(
            session,
            ctx,
            escalation.id,
            raiser_row,
            "opened",
            stage=1,
            due_at=stage.due_at.isoformat(),
            fields=sorted(clean),
        )
        _tell(session, ctx, escalation.id, topics.ESCALATION_OPENED, topics.PERSON, raiser_row, stage=1)
        for person in professional_rows:
            _tell(session, ctx, escalation.id, topics.INVITED_TO_TALK, topics.PERSON, person, stage=1)
        if policy.partnership_informed_at(1):
            _tell(session, ctx, escalation.id, topics.STAGE_STARTED, topics.PARTNERSHIP, stage=1)
        view = load_case(session, escalation)
    log.info("opened %s", view.reference)
    return view


# The details of the concern, as raised; the raiser may correct each later.
CORRECTABLE = {
    "child_initials": "Child's initials",
    "child_case_reference": "Your agency's case reference",
    "level_of_need": "Level of need",
    "key_dates": "Key dates",
    "evidence_of_need": "Evidence of need",
    "decision_disagreed": "The decision or action disagreed with",
    "interventions_to_date": "Summary of interventions to date",
    "outcome_wanted": "The outcome wanted",
}


def _validated_detail(policy: Policy, check: validation.Checks, name: str, value: Any) -> Any:
    lists = policy.lists
    checks = {
        "child_initials": lambda v: validation.initials(v),
        "child_case_reference": lambda v: check.case_reference(v),
        "level_of_need": lambda v: validation.one_of(v, lists.levels_of_need, name, "the level of need"),
        "raiser_role": lambda v: check.required_text(v, name, "your role", 200),
        "raiser_agency": lambda v: validation.one_of(v, lists.agencies, name, "your agency"),
        "other_agency": lambda v: validation.one_of(v, lists.agencies, name, "the other agency"),
        "themes": lambda v: validation.some_of(v, lists.themes, name, "area of disagreement"),
        "key_dates": lambda v: check.required_text(v, name, "the key dates"),
        "evidence_of_need": lambda v: check.required_text(v, name, "the evidence of need"),
        "decision_disagreed": lambda v: check.required_text(v, name, "the decision or action you disagree with"),
        "interventions_to_date": lambda v: check.required_text(v, name, "the interventions to date"),
        "outcome_wanted": lambda v: check.required_text(v, name, "the outcome you want"),
        # Optional: empty, or one of the policy's answers.
        "age_band": lambda v: v and validation.one_of(v, lists.age_bands, name, "an age band"),
        "gender": lambda v: v and validation.one_of(v, lists.genders, name, "a gender"),
        "ethnicity": lambda v: v and validation.one_of(v, lists.ethnicities, name, "an ethnicity"),
        "send": lambda v: v and validation.one_of(v, lists.send_answers, name, "an answer"),
    }
    return checks[name](value)


def validated_details(policy: Policy, check: validation.Checks, form: EscalationForm) -> dict[str, Any]:
    """Every detail of the form checked, in the form's order; the first problem is refused at its field."""
    names = (
        "child_initials",
        "child_case_reference",
        "level_of_need",
        "raiser_role",
        "raiser_agency",
        "other_agency",
        "themes",
        "key_dates",
        "evidence_of_need",
        "decision_disagreed",
        "interventions_to_date",
        "outcome_wanted",
        "age_band",
        "gender",
        "ethnicity",
        "send",
    )
    return {name: _validated_detail(policy, check, name, getattr(form, name)) for name in names}


def add_note(ctx: Context, reference: str, actor: PersonRef, text: str, kind: str = "discussion") -> CaseView:
    """Record a discussion, call or meeting on the case. Notes never conflict, so no version is asked."""
    if kind not in NOTE_KINDS:
        raise Refused("Choose what kind of note this is.", field="note_kind")
    text = ctx.checks.required_text(text, "note_text", "the note")

    def apply(change: _Change) -> None:
        _add_note(change, kind, text)
        change.audit(kind=kind)

    return _change(ctx, reference, actor, can.NOTE, None, apply)


def _add_note(change: _Change, kind: str, text: str) -> None:
    change.session.add(
        CaseNote(
            escalation_id=change.escalation.id,
            stage_number=change.escalation.current_stage,
            author_id=change.actor.id,
            kind=kind,
            text=text,
            created_at=change.ctx.clock.now(),
        )
    )


def resolve(ctx: Context, reference: str, actor: PersonRef, *, version: int, outcome: OutcomeForm) -> CaseView:
    """The raising side records that its concern is resolved at this stage; the case closes as resolved."""

    def apply(change: _Change) -> None:
        clean = _validated_outcome(change, outcome)
        _close_resolved(change, "resolved", clean, change.case.acting_holders(RECEIVING), topics.ESCALATION_RESOLVED)

    return _change(ctx, reference, actor, can.RESOLVE, version, apply)


def propose_resolution(
    ctx: Context, reference: str, actor: PersonRef, *, version: int, outcome: OutcomeForm
) -> CaseView:
    """The receiving side proposes that the concern is resolved; the raising side is asked to accept it."""

    def apply(change: _Change) -> None:
        clean = _validated_outcome(change, outcome)
        actions = clean.pop("actions")
        stored = {
            **clean,
            "outcome_date": clean["outcome_date"].isoformat(),
            "actions": [
                {"what": a.what, "owner": change.row(a.owner).id, "due_on": a.due_on.isoformat()} for a in actions
            ],
        }
        change.session.add(
            ResolutionProposal(
                escalation_id=change.escalation.id,
                stage_number=change.escalation.current_stage,
                proposed_by_id=change.actor.id,
                proposed_at=change.ctx.clock.now(),
                outcome=stored,
            )
        )
        change.bump_version()
        change.audit()
        change.tell(topics.RESOLUTION_PROPOSED, change.case.acting_holders(RAISING))

    return _change(ctx, reference, actor, can.PROPOSE_RESOLUTION, version, apply)


def answer_proposal(
    ctx: Context, reference: str, actor: PersonRef, *, version: int, accept: bool | None, reason: str = ""
) -> CaseView:
    """The raising side accepts the proposed resolution (the case closes, with both names) or declines it."""
    if accept is None:
        raise Refused("Choose whether you accept the proposed resolution.", field="answer")
    if not accept:
        reason = ctx.checks.required_text(reason, "decline_reason", "why you do not accept it")

    def apply(change: _Change) -> None:
        proposal = change.session.exec(
            select(ResolutionProposal).where(
                ResolutionProposal.escalation_id == change.escalation.id,
                ResolutionProposal.status == ProposalStatus.PENDING,
            )
        ).one()
        proposer = change.session.get(Person, proposal.proposed_by_id)
        proposal.answered_by_id, proposal.answered_at = change.actor.id, change.ctx.clock.now()
        change.session.add(proposal)
        proposer_ref = PersonRef(proposer.platform, proposer.platform_user_id, proposer.name, proposer.email)
        if not accept:
            proposal.status, proposal.decline_reason = ProposalStatus.DECLINED, reason
            change.bump_version()
            change.audit(accepted=False)
            change.tell(topics.PROPOSAL_DECLINED, [proposer_ref, *change.case.acting_holders(RECEIVING)])
            return
        proposal.status = ProposalStatus.ACCEPTED
        stored = dict(proposal.outcome)
        owners = {
            p.id: p
            for p in change.session.exec(
                select(Person).where(Person.id.in_([a["owner"] for a in stored.get("actions", [])]))
            ).all()
        }
        outcome = dict(
            outcome_kind=stored["outcome_kind"],
            concerns=stored.get("concerns", ""),
            decision_outcome=stored["decision_outcome"],
            key_learning=stored["key_learning"],
            outcome_date=date.fromisoformat(stored["outcome_date"]),
            actions=[
                ActionForm(
                    a["what"],
                    PersonRef(owners[a["owner"]].platform, owners[a["owner"]].platform_user_id),
                    date.fromisoformat(a["due_on"]),
                )
                for a in stored.get("actions", [])
            ],
        )
        _close_resolved(change, "resolved", outcome, [proposer_ref], topics.ESCALATION_RESOLVED)

    return _change(ctx, reference, actor, can.ANSWER_PROPOSAL, version, apply)


def escalate(
    ctx: Context,
    reference: str,
    actor: PersonRef,
    *,
    version: int,
    reason: str,
    next_holders: list[PersonRef],
    other_side_holders: list[PersonRef] | None = None,
    concerns: str = "",
    decision_outcome: str = "",
    key_learning: str = "",
) -> CaseView:
    """Not resolved at this stage: move to the next one. The escalating side names its own next holder; the
    other side is asked to name theirs. At the Executive's stage the configured Executive hold it."""
    reason = ctx.checks.required_text(reason, "reason", "what was discussed and why it is not resolved")

    def apply(change: _Change) -> None:
        esc, policy, case = change.escalation, change.policy, change.case
        number = esc.current_stage + 1
        formal = policy.stage(esc.current_stage).formal
        check = change.ctx.checks
        # At a formal stage the notification form asks for the concerns, the outcome so far and the learning.
        record = dict(
            concerns=(check.required_text if formal else check.limited_text)(
                concerns, "concerns", "the concerns as they stand"
            ),
            decision_outcome=(check.required_text if formal else check.limited_text)(
                decision_outcome, "decision_outcome", "the decision or outcome so far"
            ),
            key_learning=(check.required_text if formal else check.limited_text)(
                key_learning, "key_learning", "the key learning so far"
            ),
        )
        side = change.own_side()
        other = RECEIVING if side == RAISING else RAISING
        rule = policy.stage(number).holders
        if rule == "executive":
            if not change.ctx.executive:
                raise Refused(
                    f"{policy.executive_name[0].upper()}{policy.executive_name[1:]} is not set up in the "
                    "bot yet, so the case cannot go to them. Ask the partnership team. Nothing was done."
                )
            holders = {PARTNERSHIP: [change.row(p) for p in change.ctx.executive]}
        else:
            holders = {side: [change.row(p) for p in _check_new_holders(change, side, next_holders, "next_holders")]}
            if rule == "escalating_side_names_both":
                named = _check_new_holders(change, other, other_side_holders or [], "other_side_holders")
                holders[other] = [change.row(p) for p in named]
                if {p.id for p in holders[other]} & {p.id for p in holders[side]}:
                    raise Refused(
                        "No one can hold this stage for both sides. Name each side's own people.",
                        field="other_side_holders",
                    )
        _end_stage(change, "escalated", False, **record)
        new_stage = _start_stage(change.session, change.ctx, policy, esc, number, holders, change.actor, reason)
        change.bump_version(current_stage=number)
        change.audit(from_stage=number - 1, to_stage=number, due_at=new_stage.due_at.isoformat())
        everyone_named = [p for people in holders.values() for p in people]
        for person in _unique(everyone_named):
            _tell(change.session, change.ctx, esc.id, topics.STAGE_STARTED, topics.PERSON, person, stage=number)
        if rule == "each_side":
            # The other side's last holders are asked to name theirs; until then they act for their side.
            change.tell(topics.NAME_YOUR_HOLDER, case.acting_holders(other), side=other)
        if rule == "executive" and change.ctx.scrutineer is not None:
            change.tell(topics.SCRUTINEER_INFORMED, [change.ctx.scrutineer])
        change.tell_partnership(topics.STAGE_STARTED, **_notification_form(change, STAGE))

    return _change(ctx, reference, actor, can.ESCALATE, version, apply)


def name_holder(
    ctx: Context,
    reference: str,
    actor: PersonRef,
    *,
    version: int | None,
    holders: list[PersonRef],
    side: str | None = None,
) -> CaseView:
    """A side names its holder for the current stage, when asked (the partnership may do it for a side)."""

    def apply(change: _Change) -> None:
        case = change.case
        chosen = side
        if chosen is None:
            own = [s for s, role in can.SIDE_ROLE.items() if role in change.roles]
            chosen = next((s for s in own if s in case.awaited_sides), own[0] if own else None)
        if chosen not in case.awaited_sides:
            raise Refused("That side's holder for this stage is already named.", field="side")
        if can.SIDE_ROLE[chosen] not in change.roles and can.PARTNERSHIP_TEAM not in change.roles:
            raise Refused("You can name your own side's holder only.", field="side", reason="not_allowed")
        named = _check_new_holders(change, chosen, holders, "holders")
        for person in _unique(change.row(p) for p in named):
            change.session.add(StageHolder(stage_id=change.stage.id, person_id=person.id, side=chosen))
            _tell(
                change.session,
                change.ctx,
                change.escalation.id,
                topics.STAGE_STARTED,
                topics.PERSON,
                person,
                stage=change.escalation.current_stage,
            )
        change.bump_version()
        change.audit(side=chosen, named=len(named))
        change.tell_partnership(topics.HOLDER_NAMED, side=chosen)

    return _change(ctx, reference, actor, can.NAME_HOLDER, version, apply)


def hand_over(
    ctx: Context, reference: str, actor: PersonRef, *, version: int | None, from_person: PersonRef, to_person: PersonRef
) -> CaseView:
    """A holder passes their role at this stage to a colleague (leave, a change of job); both sides are told."""

    def apply(change: _Change) -> None:
        case = change.case
        side = case.side_of(from_person) if from_person.key in {p.key for p in case.stage.holders} else None
        if side is None:
            raise Refused("Choose someone who holds this stage now.", field="from_person")
        if can.SIDE_ROLE[side] not in change.roles and can.PARTNERSHIP_TEAM not in change.roles:
            raise Refused("You can hand over your own side's role only.", field="from_person", reason="not_allowed")
        if to_person.key in {p.key for p in case.stage.holders}:
            raise Refused("They already hold this stage.", field="to_person")
        (new,) = _check_new_holders(change, side, [to_person], "to_person")
        old_row, new_row = change.row(from_person), change.row(new)
        holder = change.session.exec(
            select(StageHolder).where(StageHolder.stage_id == change.stage.id, StageHolder.person_id == old_row.id)
        ).one()
        holder.handed_over_at = change.ctx.clock.now()
        change.session.add(holder)
        change.session.add(StageHolder(stage_id=change.stage.id, person_id=new_row.id, side=side))
        change.bump_version()
        change.audit(side=side)
        payload = dict(side=side, from_id=old_row.id, to_id=new_row.id)
        change.tell(topics.HANDED_OVER_TO_YOU, [new], **payload)
        change.tell(
            topics.HANDED_OVER, [p for p in change.current_holders() if p.key != new.key] + [from_person], **payload
        )
        change.tell_partnership(topics.HANDED_OVER, **payload)

    return _change(ctx, reference, actor, can.HAND_OVER, version, apply)


def ask_to_escalate(ctx: Context, reference: str, actor: PersonRef, *, reason: str) -> CaseView:
    """The receiving side asks the raising side to take the case to the next stage."""
    reason = ctx.checks.required_text(reason, "reason", "why it should go to the next stage")

    def apply(change: _Change) -> None:
        _add_note(change, ASKED_TO_ESCALATE_NOTE, reason)
        change.audit()
        change.tell(topics.ASKED_TO_ESCALATE, change.case.acting_holders(RAISING))

    return _change(ctx, reference, actor, can.ASK_TO_ESCALATE, None, apply)


def chase(ctx: Context, reference: str, actor: PersonRef, *, holder: PersonRef, message: str = "") -> CaseView:
    """The partnership chases a stage holder with a direct message."""
    message = ctx.checks.limited_text(message, "chase_message", "the message", 1000)

    def apply(change: _Change) -> None:
        if holder.key not in {p.key for p in change.current_holders()}:
            raise Refused("Choose someone who holds this stage now.", field="holder")
        change.audit(holder=change.row(holder).id)
        change.tell(topics.CHASER, [holder], message=message, by=change.actor.id)

    return _change(ctx, reference, actor, can.CHASE, None, apply)


def withdraw(ctx: Context, reference: str, actor: PersonRef, *, version: int, reason: str) -> CaseView:
    reason = ctx.checks.required_text(reason, "reason", "why the escalation is withdrawn")

    def apply(change: _Change) -> None:
        _end_stage(change, "withdrawn", None)
        change.bump_version(status=CaseStatus.WITHDRAWN, closed_at=change.ctx.clock.now(), withdrawal_reason=reason)
        change.audit()
        _tell_closed(change, topics.ESCALATION_WITHDRAWN)

    return _change(ctx, reference, actor, can.WITHDRAW, version, apply)


def record_executive_decision(
    ctx: Context, reference: str, actor: PersonRef, *, version: int, outcome: OutcomeForm
) -> CaseView:
    """At the Executive's stage, their decision is recorded and the case closes."""

    def apply(change: _Change) -> None:
        clean = _validated_outcome(change, outcome)
        _close_resolved(change, "executive_decision", clean, [], topics.EXECUTIVE_DECISION)

    return _change(ctx, reference, actor, can.EXECUTIVE_DECISION, version, apply)


def request_reflective_consultation(
    ctx: Context, reference: str, actor: PersonRef, *, version: int, note: str = ""
) -> CaseView:
    """Ask the partnership for a multi-agency reflective group consultation (offered at Stage 3 in Croydon)."""
    note = ctx.checks.limited_text(note, "consultation_note", "the note")

    def apply(change: _Change) -> None:
        change.stage.reflective_consultation_requested_at = change.ctx.clock.now()
        change.session.add(change.stage)
        change.bump_version()
        change.audit()
        _tell(
            change.session,
            change.ctx,
            change.escalation.id,
            topics.REFLECTIVE_CONSULTATION_REQUESTED,
            topics.PARTNERSHIP,
            stage=change.escalation.current_stage,
            note=note,
        )

    return _change(ctx, reference, actor, can.REQUEST_CONSULTATION, version, apply)


def record_consultation(
    ctx: Context,
    reference: str,
    actor: PersonRef,
    *,
    version: int | None,
    arranged_for: date | None = None,
    held_on: date | None = None,
    agreed_actions: str = "",
) -> CaseView:
    """The partnership records the reflective group consultation: requested, arranged (date), held, actions."""
    agreed_actions = ctx.checks.limited_text(agreed_actions, "consultation_actions", "the agreed actions")
    if held_on is not None and not agreed_actions:
        raise Refused("Record the actions the consultation agreed.", field="consultation_actions")

    def apply(change: _Change) -> None:
        stage, calendar = change.stage, change.policy.working_calendar
        today = calendar.local_date(change.ctx.clock.now())
        if held_on is not None and held_on > today:
            raise Refused(
                "A consultation cannot be held in the future: record the date it is arranged for.",
                field="consultation_held_on",
            )
        if arranged_for is not None and arranged_for < calendar.local_date(stage.started_at):
            raise Refused("That date is before this stage started.", field="consultation_arranged_for")
        if stage.reflective_consultation_requested_at is None:
            stage.reflective_consultation_requested_at = change.ctx.clock.now()
        if arranged_for is not None:
            stage.consultation_arranged_for = arranged_for
        if held_on is not None:
            stage.consultation_held_on = held_on
            stage.consultation_actions = agreed_actions
        change.session.add(stage)
        change.bump_version()
        status = "held" if held_on else "arranged" if arranged_for else "requested"
        change.audit(status=status)
        change.tell(topics.CONSULTATION_RECORDED, change.current_holders(), status=status)
        change.tell_partnership(topics.CONSULTATION_RECORDED, status=status)

    return _change(ctx, reference, actor, can.RECORD_CONSULTATION, version, apply)


def correct_details(ctx: Context, reference: str, actor: PersonRef, *, field_name: str, value: Any) -> CaseView:
    """The raiser corrects a detail of the concern. The value is replaced; the audit says which field was
    corrected, by whom and when, never the old value, so a name typed by mistake is gone."""
    if field_name not in CORRECTABLE:
        raise Refused("Choose which detail to correct.", field="field_name")

    def apply(change: _Change) -> None:
        clean = _validated_detail(change.policy, change.ctx.checks, field_name, value)
        change.bump_version(**{field_name: clean})
        change.audit("corrected", field=field_name)

    return _change(ctx, reference, actor, can.CORRECT_DETAILS, None, apply)


def view_case(ctx: Context, reference: str, viewer: PersonRef, action: str = can.DETAILS) -> CaseView:
    """The case, if `viewer` may see it, or have the document `action` names (the notification form, the record
    for their file). Every read is recorded; a refused read is recorded too."""
    with ctx.db.transaction() as session:
        escalation = _find(session, reference)
        _link_account(session, viewer)
        view = load_case(session, escalation)
        roles = _roles(ctx, session, view, viewer)
        if can.permitted(view, action, roles):
            if not can.applies(action, view):
                raise Refused(f"There is nothing of that kind for {view.reference} yet: {_not_now(view, action)}")
            _audit(session, ctx, escalation.id, _person(session, viewer), READ_ACTIONS.get(action, action))
            return view
    refusal = _not_found(reference) if not roles else Refused(_who_may(view.policy, action), reason="not_allowed")
    _refuse_and_audit(ctx, view.id, viewer, action, refusal)
    raise AssertionError("unreachable")


# How a read is named in the audit trail: seeing the case is "viewed"; a document by its own name.
READ_ACTIONS = {can.DETAILS: "viewed"}


def operator_view(ctx: Context, reference: str, action: str) -> CaseView:
    """The case for the deployment's operator at the command line (who holds the database anyway): no person
    to check, but the read is recorded, as the command line's."""
    with ctx.db.transaction() as session:
        escalation = _find(session, reference)
        view = load_case(session, escalation)
        if not can.applies(action, view):
            raise Refused(f"There is nothing of that kind for {view.reference} yet: {_not_now(view, action)}")
        _audit(session, ctx, escalation.id, None, READ_ACTIONS.get(action, action), via="command line")
        return view


def audit_trail(ctx: Context, reference: str, reader: PersonRef) -> tuple[str, list[HistoryEntry]]:
    """Who has read or changed a case, for the partnership team only; asking is itself recorded."""
    with ctx.db.transaction() as session:
        escalation = _find(session, reference)
        if ctx.is_partnership_member(reader):
            rows = session.exec(
                select(AuditEvent).where(AuditEvent.escalation_id == escalation.id).order_by(AuditEvent.id)
            ).all()
            people = {
                p.id: person_ref(p)
                for p in session.exec(
                    select(Person).where(Person.id.in_({r.actor_id for r in rows if r.actor_id}))
                ).all()
            }
            entries = [HistoryEntry(r.at, people.get(r.actor_id), r.action, dict(r.detail)) for r in rows]
            session.add(
                AuditEvent(
                    escalation_id=escalation.id,
                    actor_id=_person(session, reader).id,
                    at=ctx.clock.now(),
                    action="audit_read",
                    detail={},
                )
            )
            return escalation.reference, entries
        escalation_id = escalation.id
    _refuse_and_audit(ctx, escalation_id, reader, "audit", _not_found(reference))
    raise AssertionError("unreachable")


def _roles(ctx: Context, session: Session, case: CaseView, person: PersonRef) -> frozenset[str]:
    known = as_known(session, person)
    return can.roles_of(case, known, ctx.is_partnership_member(person) or ctx.is_partnership_member(known))


def roles_on(ctx: Context, case: CaseView, person: PersonRef) -> frozenset[str]:
    with ctx.db.read() as session:
        return _roles(ctx, session, case, person)


def actions_for(ctx: Context, case: CaseView, person: PersonRef | None, documents: bool = False) -> list[str]:
    """The actions `person` may take on `case` now (None: the partnership team's shared post); with `documents`,
    then the paperwork they may have from it (a front-end that sends files offers these as buttons too)."""
    roles = (
        frozenset({can.PARTNERSHIP_TEAM})
        if person is None and case.partnership_informed
        else roles_on(ctx, case, person)
        if person is not None
        else frozenset()
    )
    return actions_with(case, roles, shared=person is None, documents=documents)


def actions_with(case: CaseView, roles: frozenset[str], shared: bool = False, documents: bool = False) -> list[str]:
    """The actions a reader with `roles` may take now (`shared`: the partnership's post), as actions_for."""
    found = can.available_actions(case, roles)
    if documents:
        # The shared post has no side of its own: the partnership's copy offers the notification form only.
        wanted = (can.NOTIFICATION_FORM,) if shared else can.DOCUMENTS
        found += [d for d in wanted if can.applies(d, case) and can.permitted(case, d, roles)]
    return found
