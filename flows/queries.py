"""Lists of cases for a person or for the partnership, each a CaseView."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from flows.context import Context
from flows.people import PersonRef
from flows.records import CaseView, load_case, person_ref
from storage.models import AuditEvent, Escalation, OutboxMessage, Person


def _person_id(session: Session, person: PersonRef) -> int | None:
    return session.exec(
        select(Person.id).where(Person.platform == person.platform, Person.platform_user_id == person.user_id)
    ).first()


def _by_deadline(cases: list[CaseView]) -> list[CaseView]:
    # Overdue first falls out of ordering by deadline: the earliest deadlines are the ones passed.
    return sorted(cases, key=lambda c: c.stage.due_at)


@dataclass(frozen=True)
class MyCases:
    raised: list[CaseView]
    holding: list[CaseView]
    involved: list[CaseView]


def my_open_cases(ctx: Context, person: PersonRef) -> MyCases:
    """Open cases I raised, cases whose current stage I hold, and others I am part of."""
    with ctx.db.transaction() as session:
        person_id = _person_id(session, person)
        if person_id is None:
            return MyCases([], [], [])
        open_cases = session.exec(select(Escalation).where(Escalation.status == "open")).all()
        raised, holding, involved = [], [], []
        for escalation in open_cases:
            view = load_case(session, escalation)
            if view.raiser.key == person.key:
                raised.append(view)
            elif person.key in {h.key for h in view.stage.holders}:
                holding.append(view)
            elif view.involved(person):
                involved.append(view)
    return MyCases(_by_deadline(raised), _by_deadline(holding), _by_deadline(involved))


def partnership_open_cases(ctx: Context) -> list[CaseView]:
    """Open cases at the stage where the partnership is told, or later."""
    with ctx.db.transaction() as session:
        rows = session.exec(select(Escalation).where(Escalation.status == "open")).all()
        views = [load_case(session, e) for e in rows]
    return _by_deadline([v for v in views if v.partnership_informed])


def failed_deliveries(ctx: Context) -> list[tuple[str, str, str]]:
    """(reference, topic, error) of messages that could not be delivered, for the partnership team."""
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(OutboxMessage, Escalation.reference)
            .join(Escalation, Escalation.id == OutboxMessage.escalation_id, isouter=True)
            .where(OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id)
        ).all()
    return [(reference or "", message.topic, message.last_error) for message, reference in rows]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: PersonRef | None
    action: str
    detail: dict


def history(ctx: Context, case: CaseView) -> list[HistoryEntry]:
    """The audit timeline of a case the caller has already been allowed to see (see view_case)."""
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.escalation_id == case.id).order_by(AuditEvent.id)
        ).all()
        people = {}
        for row in rows:
            if row.actor_id is not None and row.actor_id not in people:
                people[row.actor_id] = person_ref(session.get(Person, row.actor_id))
        return [HistoryEntry(r.at, people.get(r.actor_id), r.action, dict(r.detail)) for r in rows]


def remembered_role_and_agency(ctx: Context, person: PersonRef) -> tuple[str, str]:
    with ctx.db.transaction() as session:
        row = session.exec(
            select(Person).where(Person.platform == person.platform, Person.platform_user_id == person.user_id)
        ).first()
        return (row.role, row.agency) if row else ("", "")
