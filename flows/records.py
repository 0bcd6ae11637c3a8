"""Read models of a case for front-ends: everything a card, a digest or a form needs, in one place."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from flows.people import PersonRef
from flows.policy import Policy
from storage.models import (
    CaseNote,
    Escalation,
    EscalationProfessional,
    Person,
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
    holders: tuple[PersonRef, ...]
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
    notes: tuple[NoteView, ...]

    @property
    def is_open(self) -> bool:
        return self.status == "open"

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

    def deadline_status(self, now: datetime) -> "DeadlineStatus":
        return DeadlineStatus.of(self.policy, self.stage.due_at, now)

    def may_act(self, person: PersonRef) -> bool:
        return self.is_open and (person.key == self.raiser.key or person.key in {h.key for h in self.stage.holders})

    def involved(self, person: PersonRef) -> bool:
        keys = {self.raiser.key, *(p.key for p in self.professionals)}
        keys |= {h.key for s in self.stages for h in s.holders}
        return person.key in keys


@dataclass(frozen=True)
class DeadlineStatus:
    due_at: datetime
    due_on: date
    overdue: bool
    # Working days from today until the due date (0 on the day); when overdue, working days past it.
    working_days_left: int
    working_days_over: int

    @classmethod
    def of(cls, policy: Policy, due_at: datetime, now: datetime) -> "DeadlineStatus":
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
    stages = []
    for row in stage_rows:
        holder_ids = session.exec(
            select(StageHolder.person_id).where(StageHolder.stage_id == row.id).order_by(StageHolder.id)
        ).all()
        stage_policy = policy.stage(row.number)
        stages.append(
            StageView(
                number=row.number,
                name=row.name,
                held_by=stage_policy.held_by,
                formal=stage_policy.formal,
                holders=tuple(ref(i) for i in holder_ids),
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
            )
        )
    professional_ids = session.exec(
        select(EscalationProfessional.person_id)
        .where(EscalationProfessional.escalation_id == escalation.id)
        .order_by(EscalationProfessional.id)
    ).all()
    notes = session.exec(
        select(CaseNote).where(CaseNote.escalation_id == escalation.id).order_by(CaseNote.id)
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
        notes=tuple(
            NoteView(n.stage_number, ref(n.author_id), n.kind, n.text, n.created_at) for n in notes
        ),
    )
