"""Reminders on the right working mornings, exactly once, through restarts and a second instance."""

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from flows import escalations as lifecycle
from flows.context import Context
from flows.reminders import send_due_reminders
from storage.db import Database
from storage.models import OutboxMessage, ReminderSent
from tests.conftest import (
    EXECUTIVE,
    TEACHER,
    TEACHER_MANAGER,
    a_form,
)
from tests.flows.steps import escalate, outcome

UTC = UTC


def open_case(ctx):
    return lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)


def ledger(ctx):
    with ctx.db.transaction() as session:
        rows = session.exec(select(ReminderSent).order_by(ReminderSent.id)).all()
    return [(r.stage_number, r.kind, r.due_on) for r in rows]


def run_hourly(ctx, clock, until: datetime):
    """The scheduler's job, run at 45 minutes past every hour; returns (local send time, kind) per reminder."""
    sent = []
    calendar = ctx.policy.working_calendar
    while clock.now() < until:
        before = len(ledger(ctx))
        send_due_reminders(ctx)
        for stage, kind, due_on in ledger(ctx)[before:]:
            sent.append((calendar.local(clock.now()).strftime("%a %d %b %H:%M"), stage, kind, due_on))
        clock.advance(timedelta(hours=1))
    return sent


def test_a_case_opened_on_1_april_2026_is_reminded_on_the_right_mornings_around_easter(ctx, clock):
    open_case(ctx)  # Wednesday 1 April, 10:00 BST: due Tuesday 14 April, 5pm
    clock.set(datetime(2026, 4, 1, 9, 45, tzinfo=UTC))
    sent = run_hourly(ctx, clock, datetime(2026, 4, 18, 0, 0, tzinfo=UTC))
    assert sent == [
        ("Fri 10 Apr 09:45", 1, "due_soon", date(2026, 4, 10)),  # 2 working days before Tuesday 14
        ("Tue 14 Apr 09:45", 1, "due_today", date(2026, 4, 14)),
        ("Wed 15 Apr 09:45", 1, "overdue", date(2026, 4, 15)),
        ("Thu 16 Apr 09:45", 1, "overdue", date(2026, 4, 16)),
        ("Fri 17 Apr 09:45", 1, "overdue", date(2026, 4, 17)),
    ]
    sent_days = {s[0][:10] for s in sent}
    assert not {"Fri 03 Apr", "Mon 06 Apr", "Sat 11 Apr", "Sun 12 Apr"} & sent_days
    with ctx.db.transaction() as session:
        reminders = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "reminder")).all()
    # To the stage holders (the teacher and the MASH worker at Stage 1), the raiser once among them.
    assert len(reminders) == 5 * 2
    # Overdue reminders also refresh the cards; Stage 1 is not the partnership's yet.
    with ctx.db.transaction() as session:
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.topic == "stage_overdue")).all()


def test_a_whole_case_through_five_stages_counts_every_reminder(ctx, clock):
    case = open_case(ctx)
    plan = [
        # Stage 1 due Tue 14 Apr; escalated on the day, after its due_today.
        datetime(2026, 4, 14, 12, 0, tzinfo=UTC),
        # Stage 2 started 14 Apr: due Thu 23 Apr; escalated Wed 22 Apr after due_soon (Tue 21).
        datetime(2026, 4, 22, 12, 0, tzinfo=UTC),
        # Stage 3 due Fri 1 May (Wed 22 Apr + 7); left two days overdue (Mon 4 May is a bank holiday).
        datetime(2026, 5, 6, 12, 0, tzinfo=UTC),
        # Stage 4 due Fri 15 May; escalated at once, before any reminder.
        datetime(2026, 5, 7, 12, 0, tzinfo=UTC),
    ]
    sent = []
    clock.set(datetime(2026, 4, 1, 9, 45, tzinfo=UTC))
    for when in plan:
        sent += run_hourly(ctx, clock, when)
        clock.set(when)
        case = escalate(ctx, case)
    # Stage 5 (started Thu 7 May, due Mon 18 May) resolved on Friday 15 May at noon.
    sent += run_hourly(ctx, clock, datetime(2026, 5, 15, 12, 0, tzinfo=UTC))
    lifecycle.record_executive_decision(
        ctx, case.reference, EXECUTIVE, version=case.version, outcome=outcome(5, outcome_date=date(2026, 5, 15))
    )
    sent += run_hourly(ctx, clock, datetime(2026, 5, 25, 12, 0, tzinfo=UTC))  # closed: nothing more
    assert [(s[1], s[2], s[3]) for s in sent] == [
        (1, "due_soon", date(2026, 4, 10)),
        (1, "due_today", date(2026, 4, 14)),
        (2, "due_soon", date(2026, 4, 21)),
        (3, "due_soon", date(2026, 4, 29)),
        (3, "due_today", date(2026, 5, 1)),
        (3, "overdue", date(2026, 5, 5)),
        (3, "overdue", date(2026, 5, 6)),
        (5, "due_soon", date(2026, 5, 14)),
    ]
    with ctx.db.transaction() as session:
        overdue_told = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "stage_overdue")).all()
    # Stage 3 is the partnership's: its thread is told once, on the first overdue morning.
    assert [(m.payload["stage"], m.payload["due_on"]) for m in overdue_told] == [(3, "2026-05-05")]


def test_a_restart_sends_each_missed_reminder_once(ctx, clock):
    open_case(ctx)
    clock.set(datetime(2026, 4, 9, 12, 0, tzinfo=UTC))
    assert send_due_reminders(ctx) == 0  # running, nothing due yet
    # The bot is down from Thursday 9 April until Tuesday 14 April, 11:00: due_soon and due_today missed.
    clock.set(datetime(2026, 4, 14, 10, 0, tzinfo=UTC))
    assert send_due_reminders(ctx) == 2
    assert send_due_reminders(ctx) == 0
    clock.advance(timedelta(minutes=1))
    assert send_due_reminders(ctx) == 0
    assert Counter(kind for _, kind, _ in ledger(ctx)) == {"due_soon": 1, "due_today": 1}


def test_nothing_is_sent_outside_working_hours_and_missed_ones_go_at_the_next_start(ctx, clock):
    open_case(ctx)
    # Down from Thursday 9 April; back on Saturday 11 April: due_soon (Fri 10) waits for Monday... which is
    # 13 April, a working day, at 9:00.
    clock.set(datetime(2026, 4, 11, 10, 0, tzinfo=UTC))
    assert send_due_reminders(ctx) == 0
    clock.set(datetime(2026, 4, 13, 7, 59, tzinfo=UTC))  # 08:59 BST
    assert send_due_reminders(ctx) == 0
    clock.set(datetime(2026, 4, 13, 8, 0, tzinfo=UTC))  # 09:00 BST
    assert send_due_reminders(ctx) == 1
    clock.set(datetime(2026, 4, 14, 16, 30, tzinfo=UTC))  # 17:30 BST on the due day
    assert send_due_reminders(ctx) == 0  # due_today's 09:30 passed, but it is after hours now
    clock.set(datetime(2026, 4, 15, 8, 0, tzinfo=UTC))  # Wednesday 09:00 BST
    assert send_due_reminders(ctx) == 1  # the missed due_today; overdue's own time is 09:30
    clock.set(datetime(2026, 4, 15, 8, 30, tzinfo=UTC))
    assert send_due_reminders(ctx) == 1  # overdue
    assert [k for _, k, _ in ledger(ctx)] == ["due_soon", "due_today", "overdue"]


def test_when_a_case_moves_on_its_old_stage_reminders_stop(ctx, clock):
    case = open_case(ctx)
    clock.set(datetime(2026, 4, 9, 12, 0, tzinfo=UTC))
    lifecycle.escalate(ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER])
    clock.set(datetime(2026, 4, 14, 9, 0, tzinfo=UTC))
    send_due_reminders(ctx)
    assert all(stage == 2 for stage, _, _ in ledger(ctx))


def test_two_schedulers_on_one_database_still_send_once(ctx, clock, tmp_path):
    for _ in range(5):
        open_case(ctx)
    clock.set(datetime(2026, 4, 14, 10, 0, tzinfo=UTC))  # due_soon and due_today due for all five
    other = Context(db=Database(ctx.db.url), policy=ctx.policy, clock=clock)
    barrier = threading.Barrier(2)
    results = []

    def run(context):
        barrier.wait()
        results.append(send_due_reminders(context))

    threads = [threading.Thread(target=run, args=(c,)) for c in (ctx, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 10
    assert len(ledger(ctx)) == 10
    with ctx.db.transaction() as session:
        assert len(session.exec(select(OutboxMessage).where(OutboxMessage.topic == "reminder")).all()) == 20
    other.db.dispose()
