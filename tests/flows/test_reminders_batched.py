"""The set-based, batched pass writes exactly what the one-reminder-at-a-time pass wrote before it.

The reference below is the earlier pass, kept as it was (one case at a time: its reminders from the policy,
its holders looked up, one transaction each), reading only. Hour by hour through three weeks of cases at
every stage, with a side's holder awaited, a hand-over and someone known only by e-mail, each pass of the new
code (in batches of two, so that batches meet) must write the messages the reference says are due.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from flows import escalations as lifecycle
from flows import reminders
from flows.people import EMAIL_PLATFORM
from flows.permissions import PARTNERSHIP, SIDES
from flows.policy import Policy
from storage.models import CaseStatus, Escalation, OutboxMessage, Person, ReminderSent, StageHolder, StageRecord
from tests.conftest import TEACHER, a_form
from tests.flows.steps import escalate


def reference_reminders(policy, started_at, due_at, now):
    """The earlier reminders_for_stage: every reminder of the stage whose time has come."""
    calendar, rules = policy.working_calendar, policy.reminders
    deadline_day = calendar.local_date(due_at)
    found = []
    for rule in rules.before_deadline:
        day = calendar.subtract_working_days(deadline_day, rule.working_days_before)
        send_at = calendar.at_local(day, rules.send_at)
        if send_at > started_at:
            found.append((rule.kind, day, send_at))
    if rules.overdue_every_working_day:
        day = calendar.next_working_day(deadline_day + timedelta(days=1))
        while calendar.at_local(day, rules.send_at) <= now:
            found.append(("overdue", day, calendar.at_local(day, rules.send_at)))
            day = calendar.next_working_day(day + timedelta(days=1))
    return [r for r in found if r[2] <= now]


def reference_holders(session, escalation_id, current_stage, email_enabled):
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
    return list(dict.fromkeys(p for _, _, p, platform in found if email_enabled or platform != EMAIL_PLATFORM))


def reference_pass(ctx, now) -> Counter:
    """The messages the earlier pass would write now (reading only)."""
    expected = Counter()
    with ctx.db.read() as session:
        cases = session.exec(
            select(Escalation.id, Escalation.policy_snapshot, StageRecord)
            .join(
                StageRecord,
                (StageRecord.escalation_id == Escalation.id) & (StageRecord.number == Escalation.current_stage),
            )
            .where(Escalation.status == CaseStatus.OPEN)
        ).all()
        sent = set(
            session.exec(
                select(ReminderSent.escalation_id, ReminderSent.stage_number, ReminderSent.kind, ReminderSent.due_on)
            ).all()
        )
        for escalation_id, snapshot, stage in cases:
            policy = Policy.from_snapshot(snapshot)
            calendar = policy.working_calendar
            if not calendar.is_working_time(now):
                continue
            first_overdue = calendar.next_working_day(calendar.local_date(stage.due_at) + timedelta(days=1))
            for kind, day, _ in reference_reminders(policy, stage.started_at, stage.due_at, now):
                if (escalation_id, stage.number, kind, day) in sent:
                    continue
                payload = (("due_on", day.isoformat()), ("kind", kind), ("stage", stage.number))
                for person in reference_holders(session, escalation_id, stage.number, ctx.email_enabled):
                    expected[(escalation_id, "reminder", "person", person, payload)] += 1
                if kind == "overdue" and policy.partnership_informed_at(stage.number) and day == first_overdue:
                    expected[(escalation_id, "stage_overdue", "partnership", None, payload)] += 1
    return expected


def written_at(ctx, now) -> Counter:
    with ctx.db.read() as session:
        rows = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.created_at == now, OutboxMessage.topic.in_(["reminder", "stage_overdue"])
            )
        ).all()
    return Counter(
        (m.escalation_id, m.topic, m.audience, m.recipient_id, tuple(sorted(m.payload.items()))) for m in rows
    )


@pytest.mark.parametrize("email_enabled", [True, False])
def test_batched_pass_writes_what_the_one_at_a_time_pass_wrote(ctx, clock, monkeypatch, email_enabled):
    monkeypatch.setattr(reminders, "BATCH", 2)
    monkeypatch.setattr(reminders, "BATCH_POSTGRESQL", 2)
    ctx = ctx.__class__(db=ctx.db, policy=ctx.policy, clock=clock, email_enabled=email_enabled)
    gp = lifecycle.PersonRef(EMAIL_PLATFORM, "gp@nhs.net", "Dr GP", "gp@nhs.net") if False else None
    opened = []
    for day, stages in ((1, 1), (2, 2), (3, 3), (6, 3), (7, 1)):  # April 2026: Easter falls in the middle
        clock.set(datetime(2026, 4, day, 9, 15, tzinfo=UTC))
        case = lifecycle.open_escalation(
            ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
        )
        for n in range(stages - 1):
            case = escalate(ctx, case, name_other_side=n % 2 == 0)
        opened.append(case)
    del gp
    clock.set(datetime(2026, 4, 8, 8, 45, tzinfo=UTC))
    total = 0
    while clock.now() < datetime(2026, 4, 29, tzinfo=UTC):
        expected = reference_pass(ctx, clock.now())
        recorded = reminders.send_due_reminders(ctx)
        assert written_at(ctx, clock.now()) == expected, clock.now()
        total += sum(expected.values())
        assert (recorded > 0) == bool(expected)
        clock.advance(timedelta(hours=1))
    assert total > 40  # the comparison compared something: every kind, over three weeks
