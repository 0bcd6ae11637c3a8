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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

from sqlalchemy import Integer, String, false, func, insert, literal, true, union_all
from sqlalchemy.orm import aliased
from sqlmodel import select

from flows import topics
from flows.context import Context
from flows.people import EMAIL_PLATFORM
from flows.permissions import PARTNERSHIP, SIDES
from flows.policies import name_unnamed_policies, policies_named
from flows.policy import Policy
from storage.atomic import among, as_rows, insert_many, insert_new
from storage.models import (
    AgreedAction,
    CaseStatus,
    DueWorkDone,
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
# On PostgreSQL, which locks rows rather than the database, larger: each batch's holders are read by one join of
# the cases' stages and holders, and fewer batches read them fewer times (at start-up, 5,500 reminders due).
BATCH_POSTGRESQL = 5000
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


def _due_now(ctx: Context, now: datetime) -> tuple[list[_Due], list[tuple[str, list[Slot]]]]:
    """Every reminder due now and not in the ledger: one query per policy of the open cases, for the slots not
    done yet. Also returns those slots: once what was found is written, they are done."""
    found, done = [], []
    ledger = ReminderSent
    for digest, policy in _open_policies(ctx).items():
        slots = _not_done(ctx, digest, due_slots(policy, now))
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
                    StageRecord.ended_at.is_(None),  # the index of the current stages
                    StageRecord.due_at >= slot.deadline_from,
                    StageRecord.due_at < slot.deadline_to,
                    StageRecord.started_at < slot.send_at,
                    ~sent.exists(),
                )
            )
        with ctx.db.read() as session:
            rows = session.connection().execute(union_all(*parts)).all()
        found += [_Due(e, n, slots[s], policy, bool(first)) for e, n, s, first in rows]
        done.append((digest, slots))
    return found, done


def _not_done(ctx: Context, digest: str, slots: list[Slot]) -> list[Slot]:
    """The slots not yet written for every stage they were due to (see DueWorkDone)."""
    if not slots:
        return []
    with ctx.db.read() as session:
        done = set(
            session.connection().execute(
                select(DueWorkDone.kind, DueWorkDone.due_on).where(
                    DueWorkDone.policy_digest == digest, DueWorkDone.due_on.in_({s.due_on for s in slots})
                )
            )
        )
    return [s for s in slots if (s.kind, s.due_on) not in done]


def _mark_done(ctx: Context, done: list[tuple[str, list[Slot]]]) -> None:
    """Every stage each slot was due to now has its ledger row (this pass wrote them, or another instance did):
    no stage can become due to the slot later (it would have to have started before the slot's time, and so
    have been found now), so later passes skip it."""
    rows = [
        {"policy_digest": digest, "kind": s.kind, "due_on": s.due_on, "recorded_at": ctx.clock.now()}
        for digest, slots in done
        for s in slots
    ]
    if rows:
        with ctx.db.transaction() as session:
            insert_new(session, DueWorkDone, rows, ("policy_digest", "kind", "due_on"))


def _payload(session, ledger=ReminderSent):
    """A reminder's payload ({"stage", "kind", "due_on"}) built by the database from its ledger row."""
    build = func.json_build_object if session.get_bind().dialect.name == "postgresql" else func.json_object
    return build("stage", ledger.stage_number, "kind", ledger.kind, "due_on", ledger.due_on)


def _to_holders(session, ids: list[int], cases: list[int], email_enabled: bool, now: datetime):
    """The reminder messages of the ledger rows `ids` (of the cases `cases`), as one SELECT for INSERT … SELECT:
    one to each person who holds the current stage on each side (a side's last holders while its new one is
    awaited), and to the partnership's holders of it. Without e-mail, people known only by e-mail cannot be
    reminded: the raiser was asked to reach them. Joins on small derived tables, no correlated subquery, so the
    plan stays cheap whatever the database's statistics say."""
    ledger, stage, holder = ReminderSent, StageRecord, StageHolder
    reachable = true() if email_enabled else Person.platform != EMAIL_PLATFORM
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL: the latest stage of each side as a small derived table, hash-joined.
        latest = (
            select(stage.escalation_id, holder.side, func.max(stage.number).label("number"))
            .join(holder, holder.stage_id == stage.id)
            .where(among(session, stage.escalation_id, cases), holder.side.in_(SIDES), holder.handed_over_at.is_(None))
            .group_by(stage.escalation_id, holder.side)
            .subquery("latest")
        )
        of_sides = (
            select(ledger.id.label("ledger_id"), holder.person_id, holder.id.label("holder_id"))
            .join(latest, latest.c.escalation_id == ledger.escalation_id)
            .join(stage, (stage.escalation_id == latest.c.escalation_id) & (stage.number == latest.c.number))
            .join(
                holder, (holder.stage_id == stage.id) & (holder.side == latest.c.side) & holder.handed_over_at.is_(None)
            )
            .join(Person, Person.id == holder.person_id)
            .where(among(session, ledger.id, ids), reachable)
        )
    else:
        # SQLite (nested loops on indexes): the latest stage of the holder's side, looked up beside each holder.
        side_stage, side_holder = aliased(StageRecord), aliased(StageHolder)
        latest_of_side = (
            select(func.max(side_stage.number))
            .join(side_holder, side_holder.stage_id == side_stage.id)
            .where(
                side_stage.escalation_id == ledger.escalation_id,
                side_holder.side == holder.side,
                side_holder.handed_over_at.is_(None),
            )
            .scalar_subquery()
        )
        of_sides = (
            select(ledger.id.label("ledger_id"), holder.person_id, holder.id.label("holder_id"))
            .join(stage, stage.escalation_id == ledger.escalation_id)
            .join(holder, (holder.stage_id == stage.id) & holder.side.in_(SIDES) & holder.handed_over_at.is_(None))
            .join(Person, Person.id == holder.person_id)
            .where(among(session, ledger.id, ids), reachable, stage.number == latest_of_side)
        )
    of_partnership = (
        select(ledger.id.label("ledger_id"), holder.person_id, holder.id.label("holder_id"))
        .join(stage, (stage.escalation_id == ledger.escalation_id) & (stage.number == ledger.stage_number))
        .join(holder, (holder.stage_id == stage.id) & (holder.side == PARTNERSHIP) & holder.handed_over_at.is_(None))
        .join(Person, Person.id == holder.person_id)
        .where(among(session, ledger.id, ids), reachable)
    )
    chosen = union_all(of_sides, of_partnership).subquery("chosen")
    return (
        select(
            ledger.escalation_id,
            literal(topics.REMINDER, String).label("topic"),
            literal(topics.PERSON, String).label("audience"),
            chosen.c.person_id.label("recipient_id"),
            _payload(session).label("payload"),
            literal(now, UTCDateTime).label("created_at"),
        )
        .select_from(chosen)
        .join(ledger, ledger.id == chosen.c.ledger_id)
        .group_by(ledger.id, chosen.c.person_id)
        .order_by(ledger.id, func.min(chosen.c.holder_id))
    )


def _to_partnership(session, ids: list[int], now: datetime):
    """The partnership's "stage overdue" messages of the ledger rows `ids`, as one SELECT."""
    ledger = ReminderSent
    return (
        select(
            ledger.escalation_id,
            literal(topics.STAGE_OVERDUE, String).label("topic"),
            literal(topics.PARTNERSHIP, String).label("audience"),
            _payload(session).label("payload"),
            literal(now, UTCDateTime).label("created_at"),
        )
        .where(among(session, ledger.id, ids))
        .order_by(ledger.id)
    )


def _record_reminders(ctx: Context, due: list[_Due]) -> list[tuple]:
    """Write each reminder with its messages, unless any instance already did: BATCH reminders per transaction,
    their ledger rows in one INSERT … ON CONFLICT DO NOTHING RETURNING, then the messages of the rows it
    inserted by INSERT … SELECT (the holders read by the database, in the same transaction). Reminders go in
    key order, so two instances writing the same batch never deadlock. Returns the keys written."""
    now, written = ctx.clock.now(), []
    by_key = {(d.escalation_id, d.stage_number, d.slot.kind, d.slot.due_on): d for d in due}
    for batch in batched(sorted(by_key), BATCH if ctx.db.is_sqlite else BATCH_POSTGRESQL):
        with ctx.db.transaction() as session:
            rows = as_rows(
                session, ReminderSent, [dict(zip(LEDGER_KEY, key, strict=True)) for key in batch], {"recorded_at": now}
            )
            inserted = insert_new(session, ReminderSent, rows, LEDGER_KEY, also=("id",))
            if inserted:
                ids = [row[-1] for row in inserted]
                cases = sorted({row[0] for row in inserted})
                people = _to_holders(session, ids, cases, ctx.email_enabled, now)
                session.execute(insert(OutboxMessage).from_select(list(people.selected_columns.keys()), people))
                # From the stage the partnership is informed at, its thread is told with the stage's first
                # overdue prompt.
                told = [
                    row[-1]
                    for row in inserted
                    if (d := by_key[tuple(row[:-1])]).first_overdue and d.policy.partnership_informed_at(d.stage_number)
                ]
                if told:
                    thread = _to_partnership(session, told, now)
                    session.execute(insert(OutboxMessage).from_select(list(thread.selected_columns.keys()), thread))
        written += [tuple(row[:-1]) for row in inserted]
    return written


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
                insert_many(session, OutboxMessage, messages)
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
    due, slots = _due_now(ctx, now)
    if not due:
        _mark_done(ctx, slots)
        return 0
    recorded = _logged(_record_reminders(ctx, due))
    _mark_done(ctx, slots)
    return recorded


def refresh_cards_each_working_day(ctx: Context) -> int:
    """Cards state working days left; once each working day, from its start, every open case's copies are
    redrawn so that no card states a stale count. Set-based, one transaction per policy of the open cases: the
    day's marker (DueWorkDone) by INSERT … ON CONFLICT DO NOTHING, and only if this transaction inserted it,
    one INSERT … SELECT of a card message per open case. The marker is the ledger: a restart, a retry or a
    second instance (which waits for the marker's transaction, then finds it) never redraws twice in a day.
    Cases opened later today are drawn with today's count already."""
    now, refreshed = ctx.clock.now(), 0
    for digest, policy in _open_policies(ctx).items():
        calendar = policy.working_calendar
        if not calendar.is_working_time(now):
            continue
        marker = {"policy_digest": digest, "kind": DAY_REFRESH, "due_on": calendar.local_date(now), "recorded_at": now}
        with ctx.db.transaction() as session:
            if not insert_new(session, DueWorkDone, [marker], ("policy_digest", "kind", "due_on")):
                continue
            cards = (
                select(
                    Escalation.id.label("escalation_id"),
                    literal(topics.CASE_UPDATED, String).label("topic"),
                    literal(topics.CARDS, String).label("audience"),
                    literal({}, OutboxMessage.__table__.c.payload.type).label("payload"),
                    literal(now, UTCDateTime).label("created_at"),
                )
                .where(Escalation.status == CaseStatus.OPEN, Escalation.policy_digest == digest)
                .order_by(Escalation.id)
            )
            names = list(cards.selected_columns.keys())
            drawn = insert(OutboxMessage).from_select(names, cards).returning(OutboxMessage.id)
            refreshed += len(session.execute(drawn).all())
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
