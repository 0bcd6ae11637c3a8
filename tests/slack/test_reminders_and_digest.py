"""Reminders, overdue prompts and the digest, as people see them in Slack."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.scheduler import JOB_ID, DueWork, start_scheduler
from storage.models import ReminderSent
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.test_delivery import deliver_everything
from tests.slack.test_escalate_end_to_end import card_in, press, raise_case

UTC = UTC


async def due_work(running):
    await DueWork(running.ctx, running.bot.outbox).run_once()
    await deliver_everything(running)


def reminders_to(running, who):
    return [m for m in running.dms(who) if "Reminder:" in m.text or "past its deadline" in m.text]


async def test_reminders_arrive_as_direct_messages_with_the_actions(running):
    await raise_case(running)
    running.clock.set(datetime(2026, 4, 10, 8, 45, tzinfo=UTC))  # Friday 10 April, 09:45 BST
    await due_work(running)
    await due_work(running)  # a second run sends nothing more
    for who in ("teacher", "mash"):
        sent = reminders_to(running, who)
        assert len(sent) == 1, who
        # Short, dated (it is never redrawn), threaded under the person's own card and shown in the conversation
        # too, where Slack shows it as a reply to the card (which opens it): no look-up of a link of our own.
        card = card_in(running.dms(who))
        assert sent[0].thread_ts == card.ts and not sent[0].blocks
        assert "due Tuesday 14 April 2026, 5pm" in sent[0].text and "working days" not in sent[0].text
        call = [c for c in running.standin.ok_calls("chat.postMessage") if c.args.get("thread_ts") == card.ts][0]
        assert call.args.get("reply_broadcast") in (True, "true", "1")
    assert not running.standin.calls_of("chat.getPermalink")
    # The card itself is not posted again.
    assert len([m for m in running.dms("teacher") if m.blocks]) == 1


async def test_an_overdue_stage_is_flagged_on_the_card_and_told_to_the_cscp_thread(running):
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    # Stage 3 started Wednesday 1 April: due Tuesday 14 April. Thursday 16 April, 10:00 BST.
    running.clock.set(datetime(2026, 4, 16, 9, 0, tzinfo=UTC))
    await due_work(running)
    prompt = reminders_to(running, "service_manager")[-1]
    assert "past its deadline" in prompt.text and "escalate it now" in prompt.text
    # The receiving side has not named its Stage 3 holder: its last holder is reminded meanwhile.
    assert "past its deadline" in reminders_to(running, "mash")[-1].text
    assert not reminders_to(running, "teacher")  # the raiser is an earlier holder now: not copied in
    # Cards state working days, so each working day redraws them: no card states a stale count. The raiser's
    # card settled when the case moved on from her: it states none.
    card = str(card_in(running.dms("service_manager")).blocks)
    assert ":warning: *Overdue by 2 working days" in card
    assert "working day" not in str(card_in(running.dms("teacher")).blocks)
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=running.cscp_posts()[0].ts)
    assert [m.text for m in thread if "is overdue" in m.text] == [
        ":warning: *Stage 3 (Service managers) is overdue.* It was due Tuesday 14 April 2026; "
        f"held by {PEOPLE['service_manager'].name} ({PEOPLE['service_manager'].email})."
    ]


async def test_with_30_percent_of_calls_failing_every_reminder_arrives_exactly_once(running):
    await raise_case(running)
    running.standin.failure_rate = 0.3
    for day in (10, 14, 15, 16):
        running.clock.set(datetime(2026, 4, day, 8, 45, tzinfo=UTC))
        await due_work(running)
    assert running.standin.failures_injected > 0
    for who in ("teacher", "mash"):
        sent = reminders_to(running, who)
        assert len(sent) == 4, (who, [m.text for m in sent])  # due soon, due today, overdue on 15 and 16 April
        assert len({m.ts for m in sent}) == 4


async def test_the_weekly_digest_is_posted_to_the_cscp_channel_once(running):
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    running.clock.set(datetime(2026, 4, 13, 8, 5, tzinfo=UTC))  # Monday 13 April, 09:05 BST
    await due_work(running)
    await due_work(running)
    digests = [m for m in running.cscp_posts() if m.text.startswith("Weekly escalations digest")]
    assert len(digests) == 1
    body = str(digests[0].blocks)
    assert "Monday 13 April 2026" in body and "ESC-2026-0001" in body and "Stage 3 (Service managers): 1" in body
    assert "J.S." not in body  # cases by reference only


async def test_the_scheduler_runs_one_job_by_id_at_start_and_catches_up(running):
    await raise_case(running)
    # The bot was down across Friday 10 and Tuesday 14 April; it starts on Tuesday at 11:00 BST.
    running.clock.set(datetime(2026, 4, 14, 10, 0, tzinfo=UTC))
    ran = asyncio.Event()

    class Watched(DueWork):
        async def run_once(self):
            await super().run_once()
            ran.set()

    scheduler = start_scheduler(Watched(running.ctx, running.bot.outbox))
    try:
        job = scheduler.get_job(JOB_ID)
        assert [j.id for j in scheduler.get_jobs()] == [JOB_ID]
        # On the minute, whenever it started: the next run after this one is at second 0.
        assert str(job.trigger) == "cron[second='0']"
        after_start = job.trigger.get_next_fire_time(None, running.ctx.clock.now() + timedelta(seconds=1))
        assert after_start.second == 0 and after_start.microsecond == 0
        await asyncio.wait_for(ran.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
    with running.ctx.db.transaction() as session:
        kinds = sorted(r.kind for r in session.exec(select(ReminderSent)).all() if r.kind != "day_refresh")
    assert kinds == ["due_soon", "due_today"]


async def test_no_card_states_a_stale_count_after_the_working_day_changes(running):
    await raise_case(running)
    card = card_in(running.dms("teacher"))
    assert "(9 working days left)" not in str(card.blocks)
    assert "(7 working days left)" in str(card.blocks)
    for day, left in ((2, 6), (7, 5)):  # Thursday 2 April; Tuesday 7 April, after the Easter weekend
        running.clock.set(datetime(2026, 4, day, 8, 1, tzinfo=UTC))  # 09:01 BST
        await due_work(running)
        for who in ("teacher", "mash"):
            assert f"({left} working days left)" in str(card_in(running.dms(who)).blocks), (who, day)
