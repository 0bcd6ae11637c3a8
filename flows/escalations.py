"""The case lifecycle as plain functions. Any front-end (Slack, Teams, the command line) calls these.

Every function either changes the case whole, with its audit event and the messages it implies
written to the outbox in the same transaction, or raises Refused and changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from sqlalchemy import update
from sqlmodel import Session, select

from flows import validation
from flows.context import Context
from flows.errors import Refused
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.policy import Policy
from flows.records import CaseView, load_case
from storage.models import (
    AuditEvent,
    CaseNote,
    Escalation,
    EscalationProfessional,
    OutboxMessage,
    Person,
    ReferenceCounter,
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


# ---------------------------------------------------------------- helpers


def _person(session: Session, ref: PersonRef) -> Person:
    """The stored person for `ref`, created on first sight; name and email kept current."""
    person = session.exec(
        select(Person).where(Person.platform == ref.platform, Person.platform_user_id == ref.user_id)
    ).first()
    if person is None:
        person = Person(platform=ref.platform, platform_user_id=ref.user_id, name=ref.name, email=ref.email)
        session.add(person)
        session.flush()
    else:
        if ref.name and ref.name != person.name:
            person.name = ref.name
        if ref.email and ref.email != person.email:
            person.email = ref.email
    return person


def _unique(people: Iterable[Person]) -> list[Person]:
    """Each person once, in order (table rows are not hashable)."""
    return list({person.id: person for person in people}.values())


def _validated_person(ref: PersonRef, field_name: str) -> PersonRef:
    if not ref.user_id:
        raise Refused("Choose a person.", field=field_name)
    if ref.platform == EMAIL_PLATFORM:
        # Someone outside the workspace is given as a name and an email: each has its own field.
        validation.required_text(ref.name, f"{field_name}_name", "their name", 200)
        validation.email(ref.email or ref.user_id, f"{field_name}_email")
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


def _tell(session: Session, ctx: Context, escalation_id: int, topic: str, audience: str,
          recipient: Person | None = None, **payload: Any) -> None:
    # People known only by email cannot be messaged in chat; the raiser reaches them.
    if recipient is not None and recipient.platform == EMAIL_PLATFORM:
        return
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


def _refresh_cards(session: Session, ctx: Context, escalation_id: int) -> None:
    _tell(session, ctx, escalation_id, "case_updated", "cards")


def _find(session: Session, reference: str) -> Escalation:
    escalation = session.exec(
        select(Escalation).where(Escalation.reference == (reference or "").strip().upper())
    ).first()
    if escalation is None:
        raise Refused(f"There is no escalation {reference}.", reason="not_found")
    return escalation


def _current_stage(session: Session, escalation: Escalation) -> StageRecord:
    return session.exec(
        select(StageRecord).where(
            StageRecord.escalation_id == escalation.id, StageRecord.number == escalation.current_stage
        )
    ).one()


def _holder_ids(session: Session, stage: StageRecord) -> list[int]:
    return list(session.exec(select(StageHolder.person_id).where(StageHolder.stage_id == stage.id)).all())


def _refuse_and_audit(ctx: Context, escalation_id: int, actor: PersonRef, action: str, message: str) -> None:
    """A refused attempt by someone not entitled is recorded, in its own transaction, then refused."""
    with ctx.db.transaction() as session:
        _audit(session, ctx, escalation_id, _person(session, actor), "refused", attempted=action)
    log.info("refused %s on escalation id %s: not entitled", action, escalation_id)
    raise Refused(message, reason="not_allowed")


class _Change:
    """An open case loaded for a change by `actor`, with the checks every change makes."""

    def __init__(self, ctx: Context, session: Session, reference: str, actor: PersonRef, action: str,
                 version: int | None):
        self.ctx, self.session, self.action = ctx, session, action
        self.escalation = _find(session, reference)
        self.policy = Policy.from_snapshot(self.escalation.policy_snapshot)
        self.stage = _current_stage(session, self.escalation)
        existing = session.exec(
            select(Person).where(Person.platform == actor.platform, Person.platform_user_id == actor.user_id)
        ).first()
        # Someone outside the case learns nothing about its state; someone in it is told why not.
        self.refused = existing is None or existing.id not in {p.id for p in self.involved_people()}
        if self.refused:
            return
        if self.escalation.status != "open":
            raise Refused(
                f"{self.escalation.reference} is already {self.escalation.status}: "
                "nothing more can be done on it.",
                reason="closed",
            )
        if version is not None and version != self.escalation.version:
            raise Refused(
                f"{self.escalation.reference} has changed since you opened it. Nothing was done: "
                "look at the latest card and try again if it is still needed.",
                reason="stale",
            )
        self.refused = existing.id != self.escalation.raiser_id and existing.id not in _holder_ids(session, self.stage)
        if self.refused:
            return
        self.actor = _person(session, actor)

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
        _audit(self.session, self.ctx, self.escalation.id, self.actor, action or self.action,
               stage=self.escalation.current_stage, **detail)

    def involved_people(self) -> list[Person]:
        """Raiser, professionals and every stage holder so far, once each."""
        session, esc = self.session, self.escalation
        ids = [esc.raiser_id]
        ids += session.exec(
            select(EscalationProfessional.person_id).where(EscalationProfessional.escalation_id == esc.id)
        ).all()
        stage_ids = session.exec(select(StageRecord.id).where(StageRecord.escalation_id == esc.id)).all()
        ids += session.exec(select(StageHolder.person_id).where(StageHolder.stage_id.in_(stage_ids))).all()
        return [session.get(Person, i) for i in dict.fromkeys(ids)]


def _change(ctx: Context, reference: str, actor: PersonRef, action: str, version: int | None, apply) -> CaseView:
    """Run `apply(change)` in one transaction after the common checks; return the case as it now is.

    With apply=None nothing changes: the checks alone, for a front-end about to show a form.
    """
    refused_id = None
    with ctx.db.transaction() as session:
        change = _Change(ctx, session, reference, actor, action, version)
        if change.refused:
            refused_id = change.escalation.id
        else:
            if apply is not None:
                apply(change)
                _refresh_cards(session, ctx, change.escalation.id)
            view = load_case(session, change.escalation)
    if refused_id is not None:
        _refuse_and_audit(
            ctx, refused_id, actor, action,
            "Only the person who raised this escalation and the people holding its current stage can do that.",
        )
    if apply is not None:
        log.info("%s on %s", action, view.reference)
    return view


def check_action(ctx: Context, reference: str, actor: PersonRef, action: str, version: int | None) -> CaseView:
    """May `actor` take `action` on the case as they last saw it? Refused (and audited) if not."""
    return _change(ctx, reference, actor, action, version, None)


def _next_reference(session: Session, year: int) -> str:
    counter = session.get(ReferenceCounter, year)
    if counter is None:
        counter = ReferenceCounter(year=year, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return f"ESC-{year}-{counter.last:04d}"


def _start_stage(session: Session, ctx: Context, policy: Policy, escalation: Escalation, number: int,
                 holders: Iterable[Person], started_by: Person, reason: str = "") -> StageRecord:
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
    for person in _unique(holders):
        session.add(StageHolder(stage_id=stage.id, person_id=person.id))
    session.flush()
    return stage


def _end_stage(change: _Change, how: str, resolved: bool | None, *, outcome_kind: str = "",
               decision_outcome: str = "", key_learning: str = "", outcome_date: date | None = None) -> None:
    stage = change.stage
    stage.ended_at = change.ctx.clock.now()
    stage.ended_how = how
    stage.resolved = resolved
    stage.outcome_kind = outcome_kind
    stage.decision_outcome = decision_outcome
    stage.key_learning = key_learning
    stage.outcome_date = outcome_date
    change.session.add(stage)


def _validated_outcome(change: _Change, outcome_kind: str, decision_outcome: str, key_learning: str,
                       outcome_date: date | None) -> dict[str, Any]:
    calendar = change.policy.working_calendar
    if outcome_kind not in OUTCOME_KINDS:
        raise Refused("Choose what the outcome was.", field="outcome_kind")
    return dict(
        outcome_kind=outcome_kind,
        decision_outcome=validation.required_text(decision_outcome, "decision_outcome", "the decision or outcome"),
        key_learning=validation.required_text(key_learning, "key_learning", "the key learning"),
        outcome_date=validation.outcome_date(
            outcome_date, calendar.local_date(change.ctx.clock.now()), calendar.local_date(change.escalation.opened_at)
        ),
    )


def _tell_closed(change: _Change, topic: str, **payload: Any) -> None:
    session, ctx, esc = change.session, change.ctx, change.escalation
    for person in change.involved_people():
        _tell(session, ctx, esc.id, topic, "person", person, stage=esc.current_stage, **payload)
    if change.policy.partnership_informed_at(esc.current_stage):
        _tell(session, ctx, esc.id, topic, "partnership", stage=esc.current_stage, **payload)


# ---------------------------------------------------------------- the use cases


def open_escalation(ctx: Context, raiser: PersonRef, form: EscalationForm, *,
                    child_at_immediate_risk: bool | None, discussed_with_manager: bool | None) -> CaseView:
    """Open a case at Stage 1, once the policy's two gates are passed."""
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
    lists = policy.lists
    clean = dict(
        child_initials=validation.initials(form.child_initials),
        child_case_reference=validation.case_reference(form.child_case_reference),
        level_of_need=validation.one_of(form.level_of_need, lists.levels_of_need, "level_of_need", "the level of need"),
        raiser_role=validation.required_text(form.raiser_role, "raiser_role", "your role", 200),
        raiser_agency=validation.one_of(form.raiser_agency, lists.agencies, "raiser_agency", "your agency"),
        other_agency=validation.one_of(form.other_agency, lists.agencies, "other_agency", "the other agency"),
        themes=validation.some_of(form.themes, lists.themes, "themes", "area of disagreement"),
        key_dates=validation.required_text(form.key_dates, "key_dates", "the key dates"),
        evidence_of_need=validation.required_text(form.evidence_of_need, "evidence_of_need", "the evidence of need"),
        decision_disagreed=validation.required_text(
            form.decision_disagreed, "decision_disagreed", "the decision or action you disagree with"
        ),
        interventions_to_date=validation.required_text(
            form.interventions_to_date, "interventions_to_date", "the interventions to date"
        ),
        outcome_wanted=validation.required_text(form.outcome_wanted, "outcome_wanted", "the outcome you want"),
        age_band=validation.limited_text(form.age_band, "age_band", "the age band", 30),
        gender=validation.limited_text(form.gender, "gender", "gender", 40),
        ethnicity=validation.limited_text(form.ethnicity, "ethnicity", "ethnicity", 80),
        send=validation.limited_text(form.send, "send", "SEND", 20),
    )
    professionals = [_validated_person(p, "professionals") for p in form.professionals]
    if any(p.key == raiser.key for p in professionals):
        raise Refused("The professional you disagree with cannot be yourself.", field="professionals")
    if len(professionals) > 10:
        raise Refused("Name at most 10 professionals.", field="professionals")

    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        raiser_row = _person(session, raiser)
        # Remembered so the next escalation this person raises is quicker to fill in.
        raiser_row.role, raiser_row.agency = clean["raiser_role"], clean["raiser_agency"]
        escalation = Escalation(
            reference=_next_reference(session, policy.working_calendar.local_date(now).year),
            policy_snapshot=policy.snapshot(),
            raiser_id=raiser_row.id,
            opened_at=now,
            **clean,
        )
        session.add(escalation)
        session.flush()
        professional_rows = _unique(_person(session, p) for p in professionals)
        for person in professional_rows:
            session.add(EscalationProfessional(escalation_id=escalation.id, person_id=person.id))
        # Stage 1 is the frontline practitioners talking directly: the raiser and the professionals hold it.
        stage = _start_stage(session, ctx, policy, escalation, 1, [raiser_row, *professional_rows], raiser_row)
        _audit(session, ctx, escalation.id, raiser_row, "opened", stage=1, due_at=stage.due_at.isoformat(),
               fields=sorted(clean))
        _tell(session, ctx, escalation.id, "escalation_opened", "person", raiser_row, stage=1)
        for person in professional_rows:
            _tell(session, ctx, escalation.id, "invited_to_talk", "person", person, stage=1)
        if policy.partnership_informed_at(1):
            _tell(session, ctx, escalation.id, "stage_started", "partnership", stage=1)
        view = load_case(session, escalation)
    log.info("opened %s", view.reference)
    return view


def add_note(ctx: Context, reference: str, actor: PersonRef, text: str, kind: str = "discussion") -> CaseView:
    """Record a discussion, call or meeting on the case. Notes never conflict, so no version is asked."""
    if kind not in NOTE_KINDS:
        raise Refused("Choose what kind of note this is.", field="note_kind")
    text = validation.required_text(text, "note_text", "the note")

    def apply(change: _Change) -> None:
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
        change.audit(kind=kind)

    return _change(ctx, reference, actor, "note_added", None, apply)


def resolve(ctx: Context, reference: str, actor: PersonRef, *, version: int, outcome_kind: str,
            decision_outcome: str, key_learning: str, outcome_date: date | None) -> CaseView:
    """The disagreement is resolved at the current stage; the case closes as resolved."""

    def apply(change: _Change) -> None:
        if change.escalation.current_stage == change.policy.final_stage:
            raise Refused(
                f"At Stage {change.policy.final_stage} the {change.policy.stage(change.policy.final_stage).name}'s "
                "decision closes the case: record that instead.",
                reason="invalid",
            )
        outcome = _validated_outcome(change, outcome_kind, decision_outcome, key_learning, outcome_date)
        now = change.ctx.clock.now()
        _end_stage(change, "resolved", True, **outcome)
        change.bump_version(status="resolved", closed_at=now)
        change.audit(outcome_kind=outcome_kind, resolved=True)
        _tell_closed(change, "escalation_resolved")

    return _change(ctx, reference, actor, "resolved", version, apply)


def escalate(ctx: Context, reference: str, actor: PersonRef, *, version: int, reason: str,
             next_holders: list[PersonRef], decision_outcome: str = "", key_learning: str = "") -> CaseView:
    """Not resolved at this stage: move to the next one, held by `next_holders`. The time limit restarts."""
    reason = validation.required_text(reason, "reason", "why this needs to go to the next stage")
    decision_outcome = validation.limited_text(decision_outcome, "decision_outcome", "the decision or outcome")
    key_learning = validation.limited_text(key_learning, "key_learning", "the key learning")
    if not next_holders:
        raise Refused("Name who holds the next stage.", field="next_holders")
    holders = [_validated_person(p, "next_holders") for p in next_holders]

    def apply(change: _Change) -> None:
        esc, policy = change.escalation, change.policy
        if esc.current_stage >= policy.final_stage:
            raise Refused(
                f"Stage {policy.final_stage} ({policy.stage(policy.final_stage).name}) is the final stage. "
                "Record its decision to close the case.",
            )
        next_number = esc.current_stage + 1
        _end_stage(change, "escalated", False, decision_outcome=decision_outcome, key_learning=key_learning)
        holder_rows = [_person(change.session, p) for p in holders]
        new_stage = _start_stage(change.session, change.ctx, policy, esc, next_number, holder_rows,
                                 change.actor, reason)
        change.bump_version(current_stage=next_number)
        change.audit(from_stage=next_number - 1, to_stage=next_number, due_at=new_stage.due_at.isoformat(),
                     holders=[f"{p.platform}:{p.platform_user_id}" for p in holder_rows])
        for person in _unique(holder_rows):
            _tell(change.session, change.ctx, esc.id, "stage_started", "person", person, stage=next_number)
        if policy.partnership_informed_at(next_number):
            _tell(change.session, change.ctx, esc.id, "stage_started", "partnership", stage=next_number)

    return _change(ctx, reference, actor, "escalated", version, apply)


def withdraw(ctx: Context, reference: str, actor: PersonRef, *, version: int, reason: str) -> CaseView:
    reason = validation.required_text(reason, "reason", "why the escalation is withdrawn")

    def apply(change: _Change) -> None:
        _end_stage(change, "withdrawn", None)
        change.bump_version(status="withdrawn", closed_at=change.ctx.clock.now(), withdrawal_reason=reason)
        change.audit()
        _tell_closed(change, "escalation_withdrawn")

    return _change(ctx, reference, actor, "withdrawn", version, apply)


def record_executive_decision(ctx: Context, reference: str, actor: PersonRef, *, version: int, outcome_kind: str,
                              decision_outcome: str, key_learning: str, outcome_date: date | None) -> CaseView:
    """At the final stage, the Executive's decision is recorded and the case closes."""

    def apply(change: _Change) -> None:
        if change.escalation.current_stage != change.policy.final_stage:
            raise Refused(
                f"The Executive's decision is recorded at Stage {change.policy.final_stage}; "
                f"this escalation is at Stage {change.escalation.current_stage}.",
            )
        outcome = _validated_outcome(change, outcome_kind, decision_outcome, key_learning, outcome_date)
        _end_stage(change, "executive_decision", True, **outcome)
        change.bump_version(status="closed", closed_at=change.ctx.clock.now())
        change.audit(outcome_kind=outcome_kind)
        _tell_closed(change, "executive_decision")

    return _change(ctx, reference, actor, "executive_decision", version, apply)


def request_reflective_consultation(ctx: Context, reference: str, actor: PersonRef, *, version: int,
                                    note: str = "") -> CaseView:
    """Ask the partnership for a multi-agency reflective group consultation (offered at Stage 3 in Croydon)."""
    note = validation.limited_text(note, "consultation_note", "the note")

    def apply(change: _Change) -> None:
        esc, policy = change.escalation, change.policy
        if not policy.reflective_consultation_at(esc.current_stage):
            raise Refused(f"A reflective group consultation is not offered at Stage {esc.current_stage}.")
        if change.stage.reflective_consultation_requested_at is not None:
            raise Refused("A reflective group consultation has already been requested at this stage.")
        change.stage.reflective_consultation_requested_at = change.ctx.clock.now()
        change.session.add(change.stage)
        change.bump_version()
        change.audit()
        _tell(change.session, change.ctx, esc.id, "reflective_consultation_requested", "partnership",
              stage=esc.current_stage, note=note)

    return _change(ctx, reference, actor, "reflective_consultation_requested", version, apply)


def view_case(ctx: Context, reference: str, viewer: PersonRef) -> CaseView:
    """The case, if `viewer` may see it. Every read is recorded; a refused read is recorded too."""
    with ctx.db.transaction() as session:
        escalation = _find(session, reference)
        view = load_case(session, escalation)
        # Stages only go up, so a case that has reached the partnership stays visible to it.
        allowed = view.involved(viewer) or (
            ctx.is_partnership_member(viewer) and view.policy.partnership_informed_at(view.current_stage)
        )
        if allowed:
            _audit(session, ctx, escalation.id, _person(session, viewer), "viewed")
            return view
    _refuse_and_audit(ctx, view.id, viewer, "view",
                      f"You are not part of {view.reference}, so you cannot see it.")
    raise AssertionError("unreachable")
