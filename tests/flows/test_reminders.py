"""Reminders on the right working mornings, exactly once, through restarts and a second instance."""

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from flows import escalations as lifecycle
from flows import topics
from flows.context import Context
from flows.notices import person_notice
from flows.reminders import refresh_cards_each_working_day, send_due_reminders
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


def overdue_prompts(ctx):
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.topic == "reminder").order_by(OutboxMessage.id)
        ).all()
    return [m.payload for m in rows if m.payload["kind"] == "overdue"]


def test_after_downtime_an_overdue_stage_gets_one_prompt_saying_how_long_it_is_overdue(ctx, clock):
    case = open_case(ctx)  # Stage 1 due Tuesday 14 April, 5pm
    clock.set(datetime(2026, 4, 14, 10, 0, tzinfo=UTC))
    send_due_reminders(ctx)  # due_soon and due_today
    # Down from Tuesday evening until Monday 20 April, 10:00 BST: Wed 15, Thu 16 and Fri 17 were missed.
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    assert send_due_reminders(ctx) == 1
    assert send_due_reminders(ctx) == 0
    assert [(stage, kind, day) for stage, kind, day in ledger(ctx) if kind == "overdue"] == [
        (1, "overdue", date(2026, 4, 20))
    ]
    prompts = overdue_prompts(ctx)
    assert len(prompts) == 2  # one each for the teacher and the MASH worker
    # The words say how long: Wed 15, Thu 16, Fri 17 and Mon 20 April are four working days.
    view = case
    notice = person_notice(topics.REMINDER, view, prompts[0], clock.now(), TEACHER)
    assert "overdue by 4 working days" in notice.lead and "overdue by 4 working days" in notice.subject
    # In normal running, each later working morning gets its own prompt, once.
    clock.set(datetime(2026, 4, 21, 8, 45, tzinfo=UTC))
    assert send_due_reminders(ctx) == 1
    clock.advance(timedelta(hours=2))
    assert send_due_reminders(ctx) == 0
    latest = overdue_prompts(ctx)[-1]
    assert "overdue by 5 working days" in person_notice(topics.REMINDER, view, latest, clock.now(), TEACHER).lead


def test_back_before_the_reminder_time_the_days_prompt_waits_for_it(ctx, clock):
    open_case(ctx)  # due Tuesday 14 April
    # Down from before the deadline; back on Thursday 16 April at 09:00 BST, before the 09:30 reminders.
    clock.set(datetime(2026, 4, 16, 8, 0, tzinfo=UTC))
    assert send_due_reminders(ctx) == 0  # Wednesday's missed prompt is not sent: today's comes at 09:30
    clock.set(datetime(2026, 4, 16, 8, 30, tzinfo=UTC))
    assert send_due_reminders(ctx) == 1
    assert [(kind, day) for _, kind, day in ledger(ctx)] == [("overdue", date(2026, 4, 16))]


def test_the_partnership_is_told_with_a_stages_first_overdue_prompt_even_after_downtime(ctx, clock):
    case = open_case(ctx)
    for _ in range(2):
        case = escalate(ctx, case)  # Stage 3, started Wednesday 1 April: due Tuesday 14 April
    clock.set(datetime(2026, 4, 17, 9, 0, tzinfo=UTC))  # Friday: 15 and 16 April missed
    send_due_reminders(ctx)
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    send_due_reminders(ctx)
    with ctx.db.transaction() as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "stage_overdue")).all()
    assert [(m.payload["stage"], m.payload["due_on"]) for m in told] == [(3, "2026-04-17")]


def test_a_pass_with_nothing_due_writes_nothing_and_a_new_stage_is_still_found(ctx, clock):
    cases = [open_case(ctx) for _ in range(3)]
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=UTC))  # Friday 10:00 BST: due_soon for all three
    assert send_due_reminders(ctx) == 3
    with ctx.db.transaction() as session:
        before = len(session.exec(select(OutboxMessage)).all())
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        assert send_due_reminders(ctx) == 0
    with ctx.db.transaction() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == before
    # A stage started today is not due any of today's reminders; its own come on their days.
    lifecycle.escalate(
        ctx, cases[0].reference, TEACHER, version=cases[0].version, reason="r", next_holders=[TEACHER_MANAGER]
    )
    clock.set(datetime(2026, 4, 21, 9, 0, tzinfo=UTC))  # Stage 2 (from Friday 10 April) due Tuesday 21 April
    assert send_due_reminders(ctx) == 4
    assert Counter((s, k) for s, k, d in ledger(ctx) if d == date(2026, 4, 21) or s == 2) == {
        (2, "due_soon"): 1,  # Friday 17 April, missed while nobody ran the pass: still before its deadline
        (2, "due_today"): 1,
        (1, "overdue"): 2,  # the other two cases, one prompt each
    }


def card_redraws(ctx) -> Counter:
    with ctx.db.transaction() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.topic == topics.CASE_UPDATED)).all()
    return Counter(m.escalation_id for m in rows if m.audience == topics.CARDS and m.payload == {})


def test_every_open_card_is_redrawn_once_each_working_day_even_by_two_schedulers_at_once(ctx, clock):
    cases = [open_case(ctx) for _ in range(4)]
    closed = cases.pop()
    lifecycle.resolve(ctx, closed.reference, TEACHER, version=closed.version, outcome=outcome())
    drawn = card_redraws(ctx)  # what opening and closing them drew
    clock.set(datetime(2026, 4, 2, 8, 0, tzinfo=UTC))  # Thursday 2 April, 09:00 BST
    other = Context(db=Database(ctx.db.url), policy=ctx.policy, clock=clock)
    barrier = threading.Barrier(2)
    results = []

    def run(context):
        barrier.wait()
        results.append(refresh_cards_each_working_day(context))

    threads = [threading.Thread(target=run, args=(c,)) for c in (ctx, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.db.dispose()
    assert sorted(results) == [0, 3]
    clock.advance(timedelta(hours=3))
    assert refresh_cards_each_working_day(ctx) == 0  # once a day
    assert card_redraws(ctx) - drawn == Counter({case.id: 1 for case in cases})
    for day in (3, 6):  # Good Friday and Easter Monday: bank holidays
        clock.set(datetime(2026, 4, day, 9, 0, tzinfo=UTC))
        assert refresh_cards_each_working_day(ctx) == 0
    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))  # Tuesday 7 April: the next working day
    assert refresh_cards_each_working_day(ctx) == 3
    assert card_redraws(ctx) - drawn == Counter({case.id: 2 for case in cases})
