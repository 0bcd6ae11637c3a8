"""Deadline reminders and overdue prompts: worked out from the cases, sent exactly once.

What is due comes from the policy (reminders as data) and the current stage of each open case.
A ledger row keyed by case, stage, kind and day is written in the same transaction as the
messages, so a restart, a retry or a second instance can never send a reminder twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, true
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from flows import topics
from flows.context import Context
from flows.people import EMAIL_PLATFORM
from flows.permissions import PARTNERSHIP, SIDES
from flows.policy import Policy
from storage.models import (
    AgreedAction,
    CaseStatus,
    Escalation,
    OutboxMessage,
    Person,
    ReminderSent,
    StageHolder,
    StageRecord,
)

log = logging.getLogger(__name__)

OVERDUE = "overdue"
# Once a working day every open case's card is redrawn, so that the working days it states stay true.
DAY_REFRESH = "day_refresh"


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
    with ctx.db.read() as session:
        rows = session.exec(
            select(Escalation.id, Escalation.policy_snapshot, Escalation.raiser_id, StageRecord)
            .join(
                StageRecord,
                (StageRecord.escalation_id == Escalation.id) & (StageRecord.number == Escalation.current_stage),
            )
            .where(Escalation.status == CaseStatus.OPEN)
        ).all()
        sent = set(
            session.exec(
                select(ReminderSent.escalation_id, ReminderSent.stage_number, ReminderSent.kind, ReminderSent.due_on)
                .join(
                    Escalation,
                    (Escalation.id == ReminderSent.escalation_id)
                    & (Escalation.current_stage == ReminderSent.stage_number),
                )
                .where(Escalation.status == CaseStatus.OPEN)
            ).all()
        )
        for escalation_id, snapshot, _raiser_id, stage in rows:
            policy = Policy.from_snapshot(snapshot)
            calendar = policy.working_calendar
            # Nothing goes outside working hours; what fell due then goes at the next start of them.
            if not calendar.is_working_time(now):
                continue
            due = [
                r
                for r in reminders_for_stage(policy, stage.started_at, stage.due_at, now)
                if (escalation_id, stage.number, r.kind, r.due_on) not in sent
            ]
            if not due:
                continue
            recipients = _current_holders(session, escalation_id, stage.number, ctx.email_enabled)
            first_overdue = calendar.next_working_day(calendar.local_date(stage.due_at) + timedelta(days=1))
            for reminder in due:
                found.append(
                    _Candidate(
                        escalation_id,
                        stage.number,
                        reminder,
                        recipients,
                        first_overdue,
                        policy.partnership_informed_at(stage.number),
                    )
                )
    return found


def _current_holders(session, escalation_id: int, current_stage: int, email_enabled: bool) -> list[int]:
    """Who holds the current stage on each side (a side's last holders while its new one is awaited). Without
    e-mail, people known only by e-mail cannot be reminded: the raiser was asked to reach them."""
    rows = session.exec(
        select(StageRecord.number, StageHolder.side, StageHolder.person_id, Person.platform)
        .join(StageHolder, StageHolder.stage_id == StageRecord.id)
        .join(Person, Person.id == StageHolder.person_id)
        .where(StageRecord.escalation_id == escalation_id, StageHolder.handed_over_at.is_(None))
        .order_by(StageRecord.number, StageHolder.id)
    ).all()
    found = []
    for side in SIDES:
        numbers = [number for number, s, _, _ in rows if s == side]
        if numbers:
            found += [row for row in rows if row[1] == side and row[0] == max(numbers)]
    found += [row for row in rows if row[1] == PARTNERSHIP and row[0] == current_stage]
    reachable = [person for _, _, person, platform in found if email_enabled or platform != EMAIL_PLATFORM]
    return list(dict.fromkeys(reachable))


def send_due_reminders(ctx: Context) -> int:
    """Write every reminder due now to the outbox, once. Returns how many reminders were recorded."""
    now = ctx.clock.now()
    recorded = 0
    for candidate in _candidates(ctx, now):
        reminder = candidate.reminder
        payload = {"stage": candidate.stage_number, "kind": reminder.kind, "due_on": reminder.due_on.isoformat()}
        messages = [
            OutboxMessage(
                escalation_id=candidate.escalation_id,
                topic=topics.REMINDER,
                audience=topics.PERSON,
                recipient_id=person_id,
                payload=payload,
                created_at=now,
            )
            for person_id in candidate.recipient_ids
        ]
        if reminder.kind == OVERDUE and candidate.tell_partnership and reminder.due_on == candidate.first_overdue_day:
            messages.append(
                OutboxMessage(
                    escalation_id=candidate.escalation_id,
                    topic=topics.STAGE_OVERDUE,
                    audience=topics.PARTNERSHIP,
                    payload=payload,
                    created_at=now,
                )
            )
        # The ledger's unique key refuses a reminder already recorded, by any instance.
        if _record_once(ctx, candidate.escalation_id, candidate.stage_number, reminder.kind, reminder.due_on, messages):
            recorded += 1
            log.info(
                "reminder %s for escalation id %s stage %s",
                reminder.kind,
                candidate.escalation_id,
                candidate.stage_number,
            )
    return recorded


def _record_once(
    ctx: Context, escalation_id: int, stage_number: int, kind: str, due_on: date, messages: list[OutboxMessage]
) -> bool:
    """Write `messages` with their ledger row, unless any instance already did."""
    try:
        with ctx.db.transaction() as session:
            session.add(
                ReminderSent(
                    escalation_id=escalation_id,
                    stage_number=stage_number,
                    kind=kind,
                    due_on=due_on,
                    recorded_at=ctx.clock.now(),
                )
            )
            session.flush()
            for message in messages:
                session.add(message)
    except IntegrityError:
        return False
    return True


def refresh_cards_each_working_day(ctx: Context) -> int:
    """Cards state working days left; once each working day, from its start, every open case's copies are
    redrawn so that no card states a stale count."""
    now, refreshed = ctx.clock.now(), 0
    with ctx.db.read() as session:
        rows = session.exec(
            select(Escalation.id, Escalation.current_stage, Escalation.policy_snapshot).where(
                Escalation.status == CaseStatus.OPEN
            )
        ).all()
        done = set(
            session.exec(
                select(ReminderSent.escalation_id, ReminderSent.due_on).where(
                    ReminderSent.kind == DAY_REFRESH, ReminderSent.due_on >= now.date() - timedelta(days=1)
                )
            ).all()
        )
    for escalation_id, stage_number, snapshot in rows:
        calendar = Policy.from_snapshot(snapshot).working_calendar
        today = calendar.local_date(now)
        if (escalation_id, today) in done or not calendar.is_working_time(now):
            continue
        message = OutboxMessage(
            escalation_id=escalation_id, topic=topics.CASE_UPDATED, audience=topics.CARDS, created_at=now
        )
        refreshed += _record_once(ctx, escalation_id, stage_number, DAY_REFRESH, today, [message])
    return refreshed


def remind_agreed_actions(ctx: Context) -> int:
    """Each person named on an agreed action is reminded on the working morning of its date (once)."""
    now, sent = ctx.clock.now(), 0
    with ctx.db.read() as session:
        rows = session.exec(
            select(AgreedAction, Escalation.policy_snapshot)
            .join(Escalation, Escalation.id == AgreedAction.escalation_id)
            .join(Person, Person.id == AgreedAction.owner_id)
            # People known only by e-mail are reminded only when the bot can send e-mail.
            .where(
                AgreedAction.due_on <= now.date() + timedelta(days=1),
                true() if ctx.email_enabled else Person.platform != EMAIL_PLATFORM,
            )
            .where(
                ~select(ReminderSent.id)
                .where(
                    ReminderSent.escalation_id == AgreedAction.escalation_id,
                    ReminderSent.kind == "action_" + AgreedAction.id.cast(String),
                )
                .exists()
            )
        ).all()
    for action, snapshot in rows:
        policy = Policy.from_snapshot(snapshot)
        calendar = policy.working_calendar
        send_at = calendar.at_local(calendar.next_working_day(action.due_on), policy.reminders.send_at)
        if not calendar.is_working_time(now) or now < send_at:
            continue
        message = OutboxMessage(
            escalation_id=action.escalation_id,
            topic=topics.ACTION_DUE,
            audience=topics.PERSON,
            recipient_id=action.owner_id,
            payload={"action": action.id},
            created_at=now,
        )
        sent += _record_once(
            ctx, action.escalation_id, action.stage_number, f"action_{action.id}", action.due_on, [message]
        )
    return sent
