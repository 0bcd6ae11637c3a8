"""Read models of a case for front-ends: everything a card, a digest or a form needs, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from flows.people import PersonRef
from flows.permissions import PARTNERSHIP, RAISING, RECEIVING
from flows.policy import Policy
from storage.models import (
    AgreedAction,
    CaseNote,
    CaseStatus,
    Escalation,
    EscalationProfessional,
    Person,
    ProposalStatus,
    ResolutionProposal,
    StageHolder,
    StageRecord,
)


def person_ref(person: Person) -> PersonRef:
    return PersonRef(platform=person.platform, user_id=person.platform_user_id, name=person.name, email=person.email)


@dataclass(frozen=True)
class StageView:
    number: int
    name: str
    held_by: str
    formal: bool
    # Who holds it now, by side; `former` handed the role to a colleague.
    raising: tuple[PersonRef, ...]
    receiving: tuple[PersonRef, ...]
    executive: tuple[PersonRef, ...]
    former: tuple[tuple[str, PersonRef], ...]  # (side, person)
    started_at: datetime
    due_at: datetime
    ended_at: datetime | None
    ended_how: str
    resolved: bool | None
    outcome_kind: str
    decision_outcome: str
    key_learning: str
    outcome_date: date | None
    escalation_reason: str
    reflective_consultation_requested_at: datetime | None
    consultation_arranged_for: date | None
    consultation_held_on: date | None
    consultation_actions: str
    concerns: str
    ended_by: PersonRef | None
    agreed_with: tuple[PersonRef, ...]

    @property
    def holders(self) -> tuple[PersonRef, ...]:
        """Everyone holding the stage now, every side, each once."""
        return tuple({p.key: p for p in (*self.raising, *self.receiving, *self.executive)}.values())

    def side(self, side: str) -> tuple[PersonRef, ...]:
        return {RAISING: self.raising, RECEIVING: self.receiving, PARTNERSHIP: self.executive}[side]


@dataclass(frozen=True)
class ProposalView:
    stage_number: int
    proposed_by: PersonRef
    proposed_at: datetime
    outcome: dict
    status: str
    answered_by: PersonRef | None
    decline_reason: str


@dataclass(frozen=True)
class ActionView:
    """An agreed action on an outstanding issue: what, who, by when."""

    id: int
    stage_number: int
    what: str
    owner: PersonRef
    due_on: date


@dataclass(frozen=True)
class HistoryEntry:
    """One event of a case's audit trail, as History and the audit view show it."""

    at: datetime
    who: PersonRef | None
    action: str
    detail: dict


@dataclass(frozen=True)
class NoteView:
    stage_number: int
    author: PersonRef
    kind: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CaseView:
    id: int
    reference: str
    status: str
    version: int
    policy: Policy
    current_stage: int
    stages: tuple[StageView, ...]
    child_initials: str
    child_case_reference: str
    level_of_need: str
    age_band: str
    gender: str
    ethnicity: str
    send: str
    raiser: PersonRef
    raiser_role: str
    raiser_agency: str
    other_agency: str
    professionals: tuple[PersonRef, ...]
    themes: tuple[str, ...]
    key_dates: str
    evidence_of_need: str
    decision_disagreed: str
    interventions_to_date: str
    outcome_wanted: str
    opened_at: datetime
    closed_at: datetime | None
    withdrawal_reason: str
    erased_at: datetime | None
    notes: tuple[NoteView, ...]
    proposals: tuple[ProposalView, ...]
    actions: tuple[ActionView, ...]

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN

    @property
    def stage(self) -> StageView:
        return self.stages[-1]

    @property
    def stage_count(self) -> int:
        return self.policy.final_stage

    @property
    def is_final_stage(self) -> bool:
        return self.current_stage == self.policy.final_stage

    @property
    def partnership_informed(self) -> bool:
        return self.policy.partnership_informed_at(self.current_stage)

    def deadline_status(self, now: datetime) -> DeadlineStatus:
        return DeadlineStatus.of(self.policy, self.stage.due_at, now)

    @property
    def pending_proposal(self) -> ProposalView | None:
        pending = [
            p for p in self.proposals if p.status == ProposalStatus.PENDING and p.stage_number == self.current_stage
        ]
        return pending[-1] if pending else None

    def acting_holders(self, side: str) -> tuple[PersonRef, ...]:
        """The side's holders of the current stage; while its new holder is awaited, its last ones.
        At the Executive's stage neither side holds it: the Executive decides."""
        if self.policy.executive_holds(self.current_stage):
            return ()
        for stage in reversed(self.stages):
            if stage.side(side):
                return stage.side(side)
        return ()

    @property
    def awaited_sides(self) -> tuple[str, ...]:
        """Sides that have not yet named their holder for the current stage."""
        if not self.is_open or self.policy.executive_holds(self.current_stage):
            return ()
        return tuple(side for side in (RAISING, RECEIVING) if not self.stage.side(side))

    def side_of(self, person: PersonRef) -> str | None:
        """The side `person` has held a stage on in this case, if any."""
        for stage in self.stages:
            for side in (RAISING, RECEIVING):
                if person.key in {p.key for p in stage.side(side)}:
                    return side
            for side, former in stage.former:
                if former.key == person.key and side in (RAISING, RECEIVING):
                    return side
        return None

    def people(self) -> tuple[PersonRef, ...]:
        """Everyone on the case: raiser, professionals, every holder so far (current and former), once each."""
        found = [self.raiser, *self.professionals]
        for stage in self.stages:
            found += [*stage.raising, *stage.receiving, *stage.executive, *(p for _, p in stage.former)]
        return tuple({p.key: p for p in found}.values())

    def involved(self, person: PersonRef) -> bool:
        return person.key in {p.key for p in self.people()}


@dataclass(frozen=True)
class DeadlineStatus:
    due_at: datetime
    due_on: date
    overdue: bool
    # Working days from today until the due date (0 on the day); when overdue, working days past it.
    working_days_left: int
    working_days_over: int

    @classmethod
    def of(cls, policy: Policy, due_at: datetime, now: datetime) -> DeadlineStatus:
        calendar = policy.working_calendar
        today, due_on = calendar.local_date(now), calendar.local_date(due_at)
        overdue = now >= due_at
        if overdue:
            # 0 on the evening of the due day; 1 on the next working day, and so on.
            return cls(due_at, due_on, True, 0, max(calendar.working_days_between(due_on, today), 0))
        return cls(due_at, due_on, False, max(calendar.working_days_between(today, due_on), 0), 0)


def load_case(session: Session, escalation: Escalation) -> CaseView:
    policy = Policy.from_snapshot(escalation.policy_snapshot)
    people: dict[int, PersonRef] = {}

    def ref(person_id: int) -> PersonRef:
        if person_id not in people:
            people[person_id] = person_ref(session.get(Person, person_id))
        return people[person_id]

    stage_rows = session.exec(
        select(StageRecord).where(StageRecord.escalation_id == escalation.id).order_by(StageRecord.number)
    ).all()
    holder_rows = session.exec(
        select(StageHolder).where(StageHolder.stage_id.in_([row.id for row in stage_rows])).order_by(StageHolder.id)
    ).all()
    stages = []
    for row in stage_rows:
        mine = [h for h in holder_rows if h.stage_id == row.id]

        def on(side: str, mine: list[StageHolder] = mine) -> tuple[PersonRef, ...]:
            return tuple(ref(h.person_id) for h in mine if h.side == side and h.handed_over_at is None)

        stage_policy = policy.stage(row.number)
        stages.append(
            StageView(
                number=row.number,
                name=row.name,
                held_by=stage_policy.held_by,
                formal=stage_policy.formal,
                raising=on(RAISING),
                receiving=on(RECEIVING),
                executive=on(PARTNERSHIP),
                former=tuple((h.side, ref(h.person_id)) for h in mine if h.handed_over_at is not None),
                started_at=row.started_at,
                due_at=row.due_at,
                ended_at=row.ended_at,
                ended_how=row.ended_how,
                resolved=row.resolved,
                outcome_kind=row.outcome_kind,
                decision_outcome=row.decision_outcome,
                key_learning=row.key_learning,
                outcome_date=row.outcome_date,
                escalation_reason=row.escalation_reason,
                reflective_consultation_requested_at=row.reflective_consultation_requested_at,
                consultation_arranged_for=row.consultation_arranged_for,
                consultation_held_on=row.consultation_held_on,
                consultation_actions=row.consultation_actions,
                concerns=row.concerns,
                ended_by=ref(row.ended_by_id) if row.ended_by_id else None,
                agreed_with=tuple(ref(i) for i in row.agreed_with_ids or []),
            )
        )
    professional_ids = session.exec(
        select(EscalationProfessional.person_id)
        .where(EscalationProfessional.escalation_id == escalation.id)
        .order_by(EscalationProfessional.id)
    ).all()
    notes = session.exec(select(CaseNote).where(CaseNote.escalation_id == escalation.id).order_by(CaseNote.id)).all()
    proposals = session.exec(
        select(ResolutionProposal)
        .where(ResolutionProposal.escalation_id == escalation.id)
        .order_by(ResolutionProposal.id)
    ).all()
    actions = session.exec(
        select(AgreedAction).where(AgreedAction.escalation_id == escalation.id).order_by(AgreedAction.id)
    ).all()
    return CaseView(
        id=escalation.id,
        reference=escalation.reference,
        status=escalation.status,
        version=escalation.version,
        policy=policy,
        current_stage=escalation.current_stage,
        stages=tuple(stages),
        child_initials=escalation.child_initials,
        child_case_reference=escalation.child_case_reference,
        level_of_need=escalation.level_of_need,
        age_band=escalation.age_band,
        gender=escalation.gender,
        ethnicity=escalation.ethnicity,
        send=escalation.send,
        raiser=ref(escalation.raiser_id),
        raiser_role=escalation.raiser_role,
        raiser_agency=escalation.raiser_agency,
        other_agency=escalation.other_agency,
        professionals=tuple(ref(i) for i in professional_ids),
        themes=tuple(escalation.themes),
        key_dates=escalation.key_dates,
        evidence_of_need=escalation.evidence_of_need,
        decision_disagreed=escalation.decision_disagreed,
        interventions_to_date=escalation.interventions_to_date,
        outcome_wanted=escalation.outcome_wanted,
        opened_at=escalation.opened_at,
        closed_at=escalation.closed_at,
        withdrawal_reason=escalation.withdrawal_reason,
        erased_at=escalation.erased_at,
        notes=tuple(NoteView(n.stage_number, ref(n.author_id), n.kind, n.text, n.created_at) for n in notes),
        proposals=tuple(
            ProposalView(
                p.stage_number,
                ref(p.proposed_by_id),
                p.proposed_at,
                dict(p.outcome),
                p.status,
                ref(p.answered_by_id) if p.answered_by_id else None,
                p.decline_reason,
            )
            for p in proposals
        ),
        actions=tuple(ActionView(a.id, a.stage_number, a.what, ref(a.owner_id), a.due_on) for a in actions),
    )
