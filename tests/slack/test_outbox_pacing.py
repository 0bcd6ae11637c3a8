"""What the outbox sends Slack: an update that would change nothing is not sent, a real change is; calls are
paced per channel on an injected clock, never really waited for."""

from datetime import timedelta

from sqlmodel import select

from bot.pacing import Pacer
from flows import escalations as lifecycle
from storage.models import Escalation, OutboxMessage
from tests.conftest import redraw_every_copy
from tests.slack.conftest import PEOPLE, start_running
from tests.slack.test_escalate_end_to_end import card_in, raise_case


def refresh_every_copy(running) -> None:
    with running.ctx.db.read() as session:
        redraw_every_copy(running.ctx, session.exec(select(Escalation)).one().id)


async def test_an_update_that_changes_nothing_is_not_sent_and_a_real_change_is(running):
    await raise_case(running)
    updates = len(running.standin.calls_of("chat.update"))
    refresh_every_copy(running)
    await running.deliver()
    assert len(running.standin.calls_of("chat.update")) == updates  # the same words: nothing sent
    with running.ctx.db.read() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}

    # A real change: the teacher escalates; every copy changes and is updated in place.
    teacher = await running.bot.directory.person(PEOPLE["teacher"].id)
    head = await running.bot.directory.person(PEOPLE["head"].id)
    case = lifecycle.view_case(running.ctx, "ESC-2026-0001", teacher)
    lifecycle.escalate(running.ctx, case.reference, teacher, version=case.version, reason="r", next_holders=[head])
    await running.deliver()
    updated = {c.args["channel"] for c in running.standin.ok_calls("chat.update")[updates:]}
    assert {running.standin.dm_channel(PEOPLE[p].id) for p in ("teacher", "mash")} <= updated
    assert "Stage 2 of 5" in str(card_in(running.dms("mash")).blocks)

    # The next working day the cards say one day fewer is left: that is a change too.
    updates = len(running.standin.calls_of("chat.update"))
    running.clock.advance(timedelta(days=1))
    refresh_every_copy(running)
    await running.deliver()
    assert len(running.standin.calls_of("chat.update")) > updates


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_messages_to_one_channel_are_spaced_a_second_apart_on_the_injected_clock(database_url):
    time = FakeTime()
    running = await start_running(database_url, pacer=Pacer(clock=time.clock, sleep=time.sleep))
    posted: list[tuple[str, float]] = []

    async def when_posted(method, args, body):
        if method == "chat.postMessage" and body.get("ok"):
            posted.append((body["channel"], time.now))

    running.standin.after_acting = when_posted
    try:
        await raise_case(running)
        # The teacher escalates: the new holder is told, the MASH worker asked to name theirs, the teacher told.
        await running.slack.click(PEOPLE["teacher"].id, card_in(running.dms("teacher")).blocks, "case_escalate")
        await running.slack.submit(PEOPLE["teacher"].id, {"reason": "r", "next_holders": [PEOPLE["head"].id]})
        await running.deliver()
    finally:
        await running.stop()
    by_channel: dict[str, list[float]] = {}
    for channel, at in posted:
        by_channel.setdefault(channel, []).append(at)
    assert any(len(times) > 1 for times in by_channel.values()), "no channel got two messages: nothing tested"
    for times in by_channel.values():
        assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in zip(times, times[1:], strict=False)), times
    # Other channels did not wait for it: the first message in each went at once, side by side.
    assert sorted(times[0] for times in by_channel.values())[:2] == [0.0, 0.0]
