"""The retention rule: a closed case keeps what was written about the child for a set time, then loses it.

Erased: the child's initials, the agency's case reference and every piece of free text, in every table
(storage.models.CHILD_TEXT_COLUMNS), and the detail of the case's audit events, through the one erasure the
append-only audit trail allows. Kept: dates, agencies, themes, level of need, outcome kind, so the case
still counts. Every erasure is audited by reference and field, never by content.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import select

from flows import topics
from flows.context import Context
from flows.policy import Policy
from storage.models import (
    CHILD_TEXT_COLUMNS,
    ERASED_AUDIT_DETAIL,
    AuditEvent,
    CaseStatus,
    Escalation,
    OutboxMessage,
    StageRecord,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    id: int
    reference: str
    closed_on: date
    erase_on: date


def months_after(day: date, months: int) -> date:
    """The same day `months` later (the month's last day where it has fewer days)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def due_for_erasure(ctx: Context, now: datetime | None = None) -> list[Due]:
    """Closed cases whose retention time is over and which still hold what was written about the child."""
    now = now or ctx.clock.now()
    with ctx.db.read() as session:
        rows = session.exec(
            select(Escalation.id, Escalation.reference, Escalation.closed_at, Escalation.policy_snapshot)
            .where(
                Escalation.status != CaseStatus.OPEN, Escalation.erased_at.is_(None), Escalation.closed_at.is_not(None)
            )
            .order_by(Escalation.closed_at)
        ).all()
    due = []
    for escalation_id, reference, closed_at, snapshot in rows:
        policy = Policy.from_snapshot(snapshot)
        closed_on = policy.working_calendar.local_date(closed_at)
        erase_on = months_after(closed_on, policy.retention.erase_after_months)
        if policy.working_calendar.local_date(now) >= erase_on:
            due.append(Due(escalation_id, reference, closed_on, erase_on))
    return due


def _case_rows(model, escalation_id: int):
    if model is Escalation:
        return Escalation.id == escalation_id
    if model is StageRecord:
        return StageRecord.escalation_id == escalation_id
    return model.escalation_id == escalation_id


def erase(ctx: Context, due: list[Due]) -> list[str]:
    """Erase each case in `due`, one transaction each; returns the references erased."""
    erased = []
    for case in due:
        now = ctx.clock.now()
        with ctx.db.transaction() as session:
            fields = []
            for model, columns in CHILD_TEXT_COLUMNS.items():
                blank = {c: ({} if c in ("outcome", "payload") else "") for c in columns}
                session.execute(update(model).where(_case_rows(model, case.id)).values(**blank))
                fields += [f"{model.__tablename__}.{c}" for c in columns]
            # The one erasure the audit trail allows (see migration 0004's trigger).
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.escalation_id == case.id)
                .values(detail=json.loads(ERASED_AUDIT_DETAIL))
            )
            session.execute(update(Escalation).where(Escalation.id == case.id).values(erased_at=now))
            session.add(
                AuditEvent(
                    escalation_id=case.id,
                    actor_id=None,
                    at=now,
                    action="erased",
                    detail={"reference": case.reference, "fields": fields},
                )
            )
            # Every copy of the card and the partnership's post are redrawn without what was erased.
            session.add(
                OutboxMessage(escalation_id=case.id, topic=topics.CASE_UPDATED, audience=topics.CARDS, created_at=now)
            )
        log.info("retention: erased %s", case.reference)
        erased.append(case.reference)
    return erased


def apply_retention(ctx: Context) -> list[str]:
    return erase(ctx, due_for_erasure(ctx))
