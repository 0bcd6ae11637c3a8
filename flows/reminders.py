"""Deadline reminders and overdue prompts: worked out from the cases, sent exactly once.

What is due comes from the policy (reminders as data) and the current stage of each open case.
A ledger row keyed by case, stage, kind and day is written in the same transaction as the
messages, so a restart, a retry or a second instance can never send a reminder twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from flows.context import Context
from flows.policy import Policy
from storage.models import Escalation, OutboxMessage, Person, ReminderSent, StageHolder, StageRecord

log = logging.getLogger(__name__)

OVERDUE = "overdue"


@dataclass(frozen=True)
class Reminder:
    kind: str
    due_on: date
    send_at: datetime


def reminders_for_stage(policy: Policy, started_at: datetime, due_at: datetime, now: datetime) -> list[Reminder]:
    """Every reminder of one stage whose time has come by `now` (sent or not: the ledger decides)."""
    calendar, rules = policy.working_calendar, policy.reminders
    deadline_day = calendar.local_date(due_at)
    found = []
    for rule in rules.before_deadline:
        day = calendar.subtract_working_days(deadline_day, rule.working_days_before)
        send_at = calendar.at_local(day, rules.send_at)
        if send_at > started_at:  # a short stage may start after its first reminder's time
            found.append(Reminder(rule.kind, day, send_at))
    if rules.overdue_every_working_day:
        day = calendar.next_working_day(deadline_day + timedelta(days=1))
        while calendar.at_local(day, rules.send_at) <= now:
            found.append(Reminder(OVERDUE, day, calendar.at_local(day, rules.send_at)))
            day = calendar.next_working_day(day + timedelta(days=1))
    return [r for r in found if r.send_at <= now]


@dataclass(frozen=True)
class _Candidate:
    escalation_id: int
    stage_number: int
    reminder: Reminder
    recipient_ids: list[int]
    first_overdue_day: date
    tell_partnership: bool


def _candidates(ctx: Context, now: datetime) -> list[_Candidate]:
    """What is due now across the open cases: two queries, plus one per case with something due."""
    found = []
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(Escalation.id, Escalation.policy_snapshot, Escalation.raiser_id, StageRecord)
            .join(StageRecord, (StageRecord.escalation_id == Escalation.id)
                  & (StageRecord.number == Escalation.current_stage))
            .where(Escalation.status == "open")
        ).all()
        sent = set(session.exec(
            select(ReminderSent.escalation_id, ReminderSent.stage_number, ReminderSent.kind, ReminderSent.due_on)
            .join(Escalation, (Escalation.id == ReminderSent.escalation_id)
                  & (Escalation.current_stage == ReminderSent.stage_number))
            .where(Escalation.status == "open")
        ).all())
        for escalation_id, snapshot, raiser_id, stage in rows:
            policy = Policy.from_snapshot(snapshot)
            calendar = policy.working_calendar
            # Nothing goes outside working hours; what fell due then goes at the next start of them.
            if not calendar.is_working_time(now):
                continue
            due = [r for r in reminders_for_stage(policy, stage.started_at, stage.due_at, now)
                   if (escalation_id, stage.number, r.kind, r.due_on) not in sent]
            if not due:
                continue
            holders = session.exec(
                select(StageHolder.person_id).where(StageHolder.stage_id == stage.id).order_by(StageHolder.id)
            ).all()
            recipients = list(dict.fromkeys([raiser_id, *holders]))
            first_overdue = calendar.next_working_day(calendar.local_date(stage.due_at) + timedelta(days=1))
            for reminder in due:
                found.append(_Candidate(escalation_id, stage.number, reminder, recipients, first_overdue,
                                        policy.partnership_informed_at(stage.number)))
    return found


def send_due_reminders(ctx: Context) -> int:
    """Write every reminder due now to the outbox, once. Returns how many reminders were recorded."""
    now = ctx.clock.now()
    recorded = 0
    for candidate in _candidates(ctx, now):
        reminder = candidate.reminder
        try:
            with ctx.db.transaction() as session:
                session.add(ReminderSent(escalation_id=candidate.escalation_id, stage_number=candidate.stage_number,
                                         kind=reminder.kind, due_on=reminder.due_on, recorded_at=now))
                session.flush()  # the unique key refuses a reminder already sent, by any instance
                payload = {"stage": candidate.stage_number, "kind": reminder.kind,
                           "due_on": reminder.due_on.isoformat()}
                for person_id in candidate.recipient_ids:
                    person = session.get(Person, person_id)
                    if person.platform == "email":
                        continue
                    session.add(OutboxMessage(escalation_id=candidate.escalation_id, topic="reminder",
                                              audience="person", recipient_id=person_id, payload=payload,
                                              created_at=now))
                if reminder.kind == OVERDUE:
                    # The card's overdue flag changes with time, not with a change to the case.
                    session.add(OutboxMessage(escalation_id=candidate.escalation_id, topic="case_updated",
                                              audience="cards", created_at=now))
                    if candidate.tell_partnership and reminder.due_on == candidate.first_overdue_day:
                        session.add(OutboxMessage(escalation_id=candidate.escalation_id, topic="stage_overdue",
                                                  audience="partnership", payload=payload, created_at=now))
        except IntegrityError:
            continue  # another instance recorded it first
        recorded += 1
        log.info("reminder %s for escalation id %s stage %s", reminder.kind, candidate.escalation_id,
                 candidate.stage_number)
    return recorded
