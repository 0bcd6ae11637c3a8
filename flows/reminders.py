"""Deadline reminders and overdue prompts: worked out from the cases, sent exactly once.

What is due comes from the policy (reminders as data) and the current stage of each open case. The pass is
set-based: for each policy the open cases were opened under (a few), the reminders due now are turned into
ranges of deadlines, and one query finds the stages in them that the ledger does not have; one more finds all
their holders. The ledger rows and their messages are then written in batches, each in one transaction with
INSERT … ON CONFLICT DO NOTHING, so that a restart, a retry or a second instance never sends a reminder twice:
a batch writes messages only for the ledger rows it inserted.

Overdue prompts go each working morning while a stage is past its deadline, once a day. After downtime the
missed mornings are not sent one by one: a stage gets today's prompt alone, which says how long it has been
overdue (flows/notices.py).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from sqlalchemy import Date, Integer, String, false, literal, true, union_all
from sqlmodel import select

from flows import topics
from flows.context import Context
from flows.people import EMAIL_PLATFORM
from flows.permissions import PARTNERSHIP, SIDES
from flows.policies import name_unnamed_policies, policies_named
from flows.policy import Policy
from storage.atomic import insert_new
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
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

OVERDUE = "overdue"
# Once a working day every open case's card is redrawn, so that the working days it states stay true.
DAY_REFRESH = "day_refresh"
# Reminders written per transaction: short enough that no other change waits long on SQLite's write lock.
BATCH = 1000
# Cases per IN (...) list when their holders are read.
CHUNK = 5000
LEDGER_KEY = ("escalation_id", "stage_number", "kind", "due_on")
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def batched(items: Iterable, size: int):
    """Lists of `size` items in turn (itertools.batched arrives in Python 3.12)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(frozen=True)
class Slot:
    """One reminder due now, for every stage whose deadline falls in [deadline_from, deadline_to) and that
    started before the reminder's time (a short stage may start after its first reminder's time)."""

    kind: str
    due_on: date  # the day the reminder is for: the ledger's key
    send_at: datetime
    deadline_from: datetime
    deadline_to: datetime


def _latest_send_day(policy: Policy, now: datetime) -> date:
    """The latest working day whose reminder time has come by `now` (today, once it has)."""
    calendar, send_at = policy.working_calendar, policy.reminders.send_at
    day = calendar.local_date(now)
    while not (calendar.is_working_day(day) and calendar.at_local(day, send_at) <= now):
        day -= timedelta(days=1)
    return day


def due_slots(policy: Policy, now: datetime) -> list[Slot]:
    """What of this policy's reminders is due now, as ranges of deadlines. Nothing outside working hours:
    what fell due then goes at the next start of them.

    - Before the deadline: each rule's reminder for the deadlines whose reminder day has come, from the
      latest working day whose reminder time has passed (`latest`) on. An older deadline's stage is overdue:
      a reminder it missed before its deadline is not sent after its overdue prompt is due.
    - Overdue: today's prompt, once today's reminder time has passed, for every stage due before today.
      A morning missed while the bot was down is not sent late: today's prompt stands for it. Before today's
      time (between the start of working hours and the reminder time) no overdue prompt is due.
    """
    calendar, rules = policy.working_calendar, policy.reminders
    if not calendar.is_working_time(now):
        return []

    def start_of(day: date) -> datetime:
        return calendar.at_local(day, time(0, 0))

    latest = _latest_send_day(policy, now)
    today = calendar.local_date(now)
    slots = []
    if rules.overdue_every_working_day and latest == today:
        slots.append(Slot(OVERDUE, today, calendar.at_local(today, rules.send_at), _EARLIEST, start_of(today)))
    day = latest
    while True:
        # Deadlines from `day` until the next working day (a deadline on a day off counts with the day before).
        following = calendar.next_working_day(day + timedelta(days=1))
        found = False
        for rule in rules.before_deadline:
            reminder_day = calendar.subtract_working_days(day, rule.working_days_before)
            if reminder_day <= latest:
                send_at = calendar.at_local(reminder_day, rules.send_at)
                slots.append(Slot(rule.kind, reminder_day, send_at, start_of(day), start_of(following)))
                found = True
        if not found:
            return slots
        day = following


@dataclass(frozen=True)
class _Due:
    escalation_id: int
    stage_number: int
    slot: Slot
    policy: Policy
    first_overdue: bool  # no overdue prompt recorded for this stage before


def _open_policies(ctx: Context) -> dict[str, Policy]:
    """The policies of the open cases, by digest: one query on an index, and a snapshot per new policy."""
    with ctx.db.read() as session:
        digests = session.exec(
            select(Escalation.policy_digest).where(Escalation.status == CaseStatus.OPEN).distinct()
        ).all()
    if "" in digests:  # cases copied in without a digest: name them once
        name_unnamed_policies(ctx)
        return _open_policies(ctx)
    with ctx.db.read() as session:
        return policies_named(session, digests)


def _due_now(ctx: Context, now: datetime) -> list[_Due]:
    """Every reminder due now and not in the ledger: one query per policy of the open cases."""
    found = []
    ledger = ReminderSent
    for digest, policy in _open_policies(ctx).items():
        slots = due_slots(policy, now)
        if not slots:
            continue
        parts = []
        for number, slot in enumerate(slots):
            this_stage = (ledger.escalation_id == Escalation.id) & (ledger.stage_number == StageRecord.number)
            sent = select(ledger.id).where(this_stage, ledger.kind == slot.kind, ledger.due_on == slot.due_on)
            told_before = select(ledger.id).where(this_stage, ledger.kind == OVERDUE).exists()
            parts.append(
                select(
                    Escalation.id,
                    StageRecord.number,
                    literal(number, Integer).label("slot"),
                    (~told_before if slot.kind == OVERDUE else false()).label("first_overdue"),
                )
                .join(
                    StageRecord,
                    (StageRecord.escalation_id == Escalation.id) & (StageRecord.number == Escalation.current_stage),
                )
                .where(
                    Escalation.status == CaseStatus.OPEN,
                    Escalation.policy_digest == digest,
                    StageRecord.due_at >= slot.deadline_from,
                    StageRecord.due_at < slot.deadline_to,
                    StageRecord.started_at < slot.send_at,
                    ~sent.exists(),
                )
            )
        with ctx.db.read() as session:
            rows = session.execute(union_all(*parts)).all()
        found += [_Due(e, n, slots[s], policy, bool(first)) for e, n, s, first in rows]
    return found


def _holders(ctx: Context, current: dict[int, int]) -> dict[int, list[int]]:
    """Who holds the current stage of each case on each side (a side's last holders while its new one is
    awaited), and the partnership's holders of it: one query per CHUNK cases. Without e-mail, people known only
    by e-mail cannot be reminded: the raiser was asked to reach them."""
    rows_of: dict[int, list] = defaultdict(list)
    with ctx.db.read() as session:
        for chunk in batched(sorted(current), CHUNK):
            for row in session.exec(
                select(
                    StageRecord.escalation_id,
                    StageRecord.number,
                    StageHolder.side,
                    StageHolder.person_id,
                    Person.platform,
                )
                .join(StageHolder, StageHolder.stage_id == StageRecord.id)
                .join(Person, Person.id == StageHolder.person_id)
                .where(StageRecord.escalation_id.in_(chunk), StageHolder.handed_over_at.is_(None))
                .order_by(StageRecord.escalation_id, StageRecord.number, StageHolder.id)
            ):
                rows_of[row[0]].append(row[1:])
    found = {}
    for escalation_id, current_stage in current.items():
        rows = rows_of.get(escalation_id, [])
        chosen = []
        for side in SIDES:
            numbers = [number for number, s, _, _ in rows if s == side]
            if numbers:
                chosen += [row for row in rows if row[1] == side and row[0] == max(numbers)]
        chosen += [row for row in rows if row[1] == PARTNERSHIP and row[0] == current_stage]
        reachable = [person for _, _, person, platform in chosen if ctx.email_enabled or platform != EMAIL_PLATFORM]
        found[escalation_id] = list(dict.fromkeys(reachable))
    return found


def _message(now: datetime, escalation_id: int, topic: str, audience: str, recipient_id=None, payload=None) -> dict:
    """An outbox row's values (every row of a batch carries the same keys)."""
    return {
        "escalation_id": escalation_id,
        "topic": topic,
        "audience": audience,
        "recipient_id": recipient_id,
        "payload": payload or {},
        "created_at": now,
    }


def _record(ctx: Context, entries: Iterable[tuple[tuple, list[dict]]]) -> list[tuple]:
    """Write each ledger key with its messages, unless any instance already did: BATCH keys per transaction,
    their ledger rows in one INSERT … ON CONFLICT DO NOTHING RETURNING, then the messages of the rows it
    inserted in one more statement. Keys go in order, so two instances writing the same batch never deadlock.
    Returns the keys written."""
    now, written = ctx.clock.now(), []
    for batch in batched(sorted(entries, key=lambda entry: entry[0]), BATCH):
        with ctx.db.transaction() as session:
            rows = [dict(zip(LEDGER_KEY, key, strict=True), recorded_at=now) for key, _ in batch]
            inserted = set(insert_new(session, ReminderSent, rows, LEDGER_KEY))
            messages = [m for key, found in batch if key in inserted for m in found]
            if messages:
                session.execute(OutboxMessage.__table__.insert(), messages)
        written += [key for key, _ in batch if key in inserted]
    return written


def _logged(written: list[tuple]) -> int:
    if written:
        counts = Counter(kind for _, _, kind, _ in written)
        log.info("reminders recorded: %s", ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))
    return len(written)


def send_due_reminders(ctx: Context) -> int:
    """Write every reminder due now to the outbox, once. Returns how many reminders were recorded."""
    now = ctx.clock.now()
    due = _due_now(ctx, now)
    if not due:
        return 0
    holders = _holders(ctx, {d.escalation_id: d.stage_number for d in due})
    entries = []
    for d in due:
        payload = {"stage": d.stage_number, "kind": d.slot.kind, "due_on": d.slot.due_on.isoformat()}
        messages = [
            _message(now, d.escalation_id, topics.REMINDER, topics.PERSON, person_id, payload)
            for person_id in holders[d.escalation_id]
        ]
        # From the stage the partnership is informed at, its thread is told with the stage's first overdue prompt.
        if d.first_overdue and d.policy.partnership_informed_at(d.stage_number):
            messages.append(_message(now, d.escalation_id, topics.STAGE_OVERDUE, topics.PARTNERSHIP, None, payload))
        entries.append(((d.escalation_id, d.stage_number, d.slot.kind, d.slot.due_on), messages))
    return _logged(_record(ctx, entries))


def refresh_cards_each_working_day(ctx: Context) -> int:
    """Cards state working days left; once each working day, from its start, every open case's copies are
    redrawn so that no card states a stale count. Set-based: BATCH cases per statement, INSERT … SELECT of the
    open cases the day's ledger lacks, then their messages."""
    now, refreshed = ctx.clock.now(), 0
    ledger = ReminderSent
    for digest, policy in _open_policies(ctx).items():
        calendar = policy.working_calendar
        if not calendar.is_working_time(now):
            continue
        today = calendar.local_date(now)
        done_today = select(ledger.id).where(
            ledger.escalation_id == Escalation.id, ledger.kind == DAY_REFRESH, ledger.due_on == today
        )
        pending = (
            select(
                Escalation.id.label("escalation_id"),
                Escalation.current_stage.label("stage_number"),
                literal(DAY_REFRESH, String).label("kind"),
                literal(today, Date).label("due_on"),
                literal(now, UTCDateTime).label("recorded_at"),
            )
            .where(Escalation.status == CaseStatus.OPEN, Escalation.policy_digest == digest, ~done_today.exists())
            .order_by(Escalation.id)
            .limit(BATCH)
        )
        while True:
            with ctx.db.transaction() as session:
                inserted = insert_new(session, ReminderSent, pending, LEDGER_KEY)
                if inserted:
                    session.execute(
                        OutboxMessage.__table__.insert(),
                        [_message(now, key[0], topics.CASE_UPDATED, topics.CARDS) for key in inserted],
                    )
            refreshed += len(inserted)
            # None left, or another instance is writing the rest (each row goes to one of us).
            if not inserted:
                break
    return refreshed


def remind_agreed_actions(ctx: Context) -> int:
    """Each person named on an agreed action is reminded on the working morning of its date (once)."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = session.exec(
            select(
                AgreedAction.id,
                AgreedAction.escalation_id,
                AgreedAction.stage_number,
                AgreedAction.owner_id,
                AgreedAction.due_on,
                Escalation.policy_digest,
            )
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
        if any(digest == "" for *_, digest in rows):
            name_unnamed_policies(ctx)
            return remind_agreed_actions(ctx)
        policies = policies_named(session, {digest for *_, digest in rows})
    entries = []
    for action_id, escalation_id, stage_number, owner_id, due_on, digest in rows:
        policy = policies[digest]
        calendar = policy.working_calendar
        send_at = calendar.at_local(calendar.next_working_day(due_on), policy.reminders.send_at)
        if not calendar.is_working_time(now) or now < send_at:
            continue
        message = _message(now, escalation_id, topics.ACTION_DUE, topics.PERSON, owner_id, {"action": action_id})
        entries.append(((escalation_id, stage_number, f"action_{action_id}", due_on), [message]))
    return _logged(_record(ctx, entries))
