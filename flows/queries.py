"""Lists of cases for a person or for the partnership, each a CaseView."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from flows import permissions as can
from flows.context import Context
from flows.people import PersonRef
from flows.persons import as_known, find_person
from flows.records import CaseView, HistoryEntry, load_case, person_ref
from storage.models import (
    AuditEvent,
    CaseStatus,
    DeliveryStatus,
    Escalation,
    EscalationProfessional,
    OutboxMessage,
    Person,
    StageHolder,
    StageRecord,
)


def _person_id(session: Session, person: PersonRef) -> int | None:
    found = find_person(session, person)
    return found.id if found else None


def _by_deadline(cases: list[CaseView]) -> list[CaseView]:
    # Overdue first falls out of ordering by deadline: the earliest deadlines are the ones passed.
    return sorted(cases, key=lambda c: c.stage.due_at)


@dataclass(frozen=True)
class MyCases:
    raised: list[CaseView]
    holding: list[CaseView]
    involved: list[CaseView]
    closed: list[CaseView] = ()


# Closed cases listed on App Home, newest first.
CLOSED_SHOWN = 10


def _stakes(session: Session, person_id: int) -> set[int]:
    """Ids of the cases `person_id` is part of: raised, named as a professional, or held a stage."""
    ids = set(session.exec(select(Escalation.id).where(Escalation.raiser_id == person_id)).all())
    ids |= set(
        session.exec(
            select(EscalationProfessional.escalation_id).where(EscalationProfessional.person_id == person_id)
        ).all()
    )
    ids |= set(
        session.exec(
            select(StageRecord.escalation_id)
            .join(StageHolder, StageHolder.stage_id == StageRecord.id)
            .where(StageHolder.person_id == person_id)
        ).all()
    )
    return ids


def my_cases(ctx: Context, person: PersonRef) -> MyCases:
    """Open cases I raised, cases whose current stage I hold, others I am part of; and my closed cases."""
    with ctx.db.transaction() as session:
        person_id = _person_id(session, person)
        if person_id is None:
            return MyCases([], [], [], [])
        person = as_known(session, person)  # as the cases know them, whichever platform they use now
        mine = session.exec(select(Escalation).where(Escalation.id.in_(_stakes(session, person_id)))).all()
        raised, holding, involved, closed = [], [], [], []
        for escalation in mine:
            view = load_case(session, escalation)
            if not view.is_open:
                closed.append(view)
            elif view.raiser.key == person.key and view.current_stage == 1:
                raised.append(view)
            elif person.key in {h.key for s in view.awaited_sides for h in view.acting_holders(s)} or person.key in {
                h.key for h in view.stage.holders
            }:
                holding.append(view)
            elif view.raiser.key == person.key:
                raised.append(view)
            else:
                involved.append(view)
        _audit_reads(session, ctx, person_id, [v.id for v in mine], "listed")
    closed.sort(key=lambda c: c.closed_at, reverse=True)
    return MyCases(_by_deadline(raised), _by_deadline(holding), _by_deadline(involved), closed[:CLOSED_SHOWN])


def _audit_reads(session: Session, ctx: Context, person_id: int, escalation_ids: list[int], action: str) -> None:
    # Every read of a case is attributable to a person and a time, lists included.
    now = ctx.clock.now()
    for escalation_id in escalation_ids:
        session.add(AuditEvent(escalation_id=escalation_id, actor_id=person_id, at=now, action=action, detail={}))


def cases_with_agency_reference(ctx: Context, agency_reference: str, person: PersonRef) -> list[CaseView]:
    """The cases `person` may see whose agency case reference is `agency_reference`."""
    wanted = (agency_reference or "").strip().upper()
    with ctx.db.transaction() as session:
        rows = session.exec(select(Escalation).where(func.upper(Escalation.child_case_reference) == wanted)).all()
        person_id = _person_id(session, person)
        known = as_known(session, person)
        member = ctx.is_partnership_member(person) or ctx.is_partnership_member(known)
        seen = []
        for escalation in rows:
            view = load_case(session, escalation)
            if view.involved(known) or (member and view.partnership_informed):
                seen.append(view)
        if person_id is not None:
            _audit_reads(session, ctx, person_id, [v.id for v in seen], "listed")
    return sorted(seen, key=lambda c: c.opened_at, reverse=True)


@dataclass(frozen=True)
class CaseFilter:
    """The partnership's filters on App Home. Empty means any."""

    stage: int | None = None
    overdue: bool = False
    agency: str = ""
    theme: str = ""

    def keeps(self, case: CaseView, now: datetime) -> bool:
        return (
            (self.stage is None or case.current_stage == self.stage)
            and (not self.overdue or case.deadline_status(now).overdue)
            and (not self.agency or self.agency in (case.raiser_agency, case.other_agency))
            and (not self.theme or self.theme in case.themes)
        )


def partnership_open_cases(
    ctx: Context, reader: PersonRef | None = None, case_filter: CaseFilter = CaseFilter()
) -> list[CaseView]:
    """Open cases at the stage where the partnership is told, or later, that pass `case_filter`."""
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        rows = session.exec(select(Escalation).where(Escalation.status == CaseStatus.OPEN)).all()
        views = [
            v for v in (load_case(session, e) for e in rows) if v.partnership_informed and case_filter.keeps(v, now)
        ]
        reader_id = _person_id(session, reader) if reader else None
        if reader_id is not None:
            _audit_reads(session, ctx, reader_id, [v.id for v in views], "listed")
    return _by_deadline(views)


def failed_deliveries(ctx: Context) -> list[tuple[str, str, str]]:
    """(reference, topic, error) of messages that could not be delivered, for the partnership team."""
    with ctx.db.read() as session:
        rows = session.exec(
            select(OutboxMessage, Escalation.reference)
            .join(Escalation, Escalation.id == OutboxMessage.escalation_id, isouter=True)
            .where(OutboxMessage.status == DeliveryStatus.FAILED)
            .order_by(OutboxMessage.id)
        ).all()
    return [(reference or "", message.topic, message.last_error) for message, reference in rows]


# Reads are audited but are not part of a case's story; refusals are shown to the partnership team only.
READS = {"viewed", "listed", *can.DOCUMENTS}


def history(ctx: Context, case: CaseView, reader: PersonRef) -> list[HistoryEntry]:
    """The audit timeline of a case the reader has already been allowed to see (see view_case)."""
    partnership = ctx.is_partnership_member(reader)
    with ctx.db.read() as session:
        rows = [
            r
            for r in session.exec(
                select(AuditEvent).where(AuditEvent.escalation_id == case.id).order_by(AuditEvent.id)
            ).all()
            if r.action not in READS and (partnership or r.action != "refused")
        ]
        people = {}
        for row in rows:
            if row.actor_id is not None and row.actor_id not in people:
                people[row.actor_id] = person_ref(session.get(Person, row.actor_id))
        return [HistoryEntry(r.at, people.get(r.actor_id), r.action, dict(r.detail)) for r in rows]


def remembered_role_and_agency(ctx: Context, person: PersonRef) -> tuple[str, str]:
    with ctx.db.read() as session:
        row = find_person(session, person)
        return (row.role, row.agency) if row else ("", "")
