"""The outbox sends side by side, within a bound, and keeps each conversation's order and each case's; it drains
while anything is due, waiting only when nothing is; and the pacing spaces calls on an injected clock."""

import asyncio
import random
from collections import defaultdict

from sqlmodel import select

from bot.outbox import Outbox, Pending, conversation_of
from bot.pacing import Limit, Pacer
from flows import escalations as lifecycle
from flows import topics
from flows.people import PersonRef
from storage.models import DeliveryStatus, OutboxMessage
from tests.conftest import a_form

RAISERS = [PersonRef("slack", f"U0RAISER{n}", f"Raiser {n}", f"r{n}@school.example") for n in range(3)]
WORKERS = [PersonRef("slack", f"U0WORKER{n}", f"Worker {n}", f"w{n}@mash.example") for n in range(4)]


def open_cases(ctx, n: int) -> None:
    """n cases, each raised by one of a few people about one of a few others: several cases per conversation,
    and each case's messages several."""
    for i in range(n):
        raiser = RAISERS[i % len(RAISERS)]
        case = lifecycle.open_escalation(
            ctx,
            raiser,
            a_form(child_case_reference=f"MOS-{i:06d}", professionals=[WORKERS[i % len(WORKERS)]]),
            child_at_immediate_risk=False,
            discussed_with_manager=True,
        )
        lifecycle.add_note(ctx, case.reference, raiser, "We spoke.")


class Recorder:
    """A sender that takes a while (a few turns of the event loop, at random) and records what it was given."""

    def __init__(self, seed: int = 7):
        self.random = random.Random(seed)
        self.delivered: list[Pending] = []
        self.in_flight = self.most_in_flight = 0

    async def deliver(self, message: Pending) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            for _ in range(self.random.randint(0, 20)):
                await asyncio.sleep(0)
            self.delivered.append(message)
        finally:
            self.in_flight -= 1


def written(ctx) -> list[OutboxMessage]:
    with ctx.db.read() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


async def test_conversations_are_sent_side_by_side_within_the_bound_each_in_its_order(ctx):
    open_cases(ctx, 24)
    rows = written(ctx)
    sender = Recorder()
    outbox = Outbox(ctx, sender, instance_id="test", concurrency=6)
    await outbox.drain()
    assert sorted(m.id for m in sender.delivered) == [r.id for r in rows]  # every one, once
    assert 1 < sender.most_in_flight <= 6
    by_conversation, by_case = defaultdict(list), defaultdict(list)
    for message in sender.delivered:
        by_conversation[conversation_of(message)].append(message.id)
        by_case[message.case.id if message.case else None].append(message.id)
    assert len(by_conversation) > 6  # several conversations, each with several messages
    for ids in [*by_conversation.values(), *by_case.values()]:
        assert ids == sorted(ids)
    # Side by side, yet not in the order written overall: the test would pass a one-at-a-time outbox otherwise.
    assert [m.id for m in sender.delivered] != [r.id for r in rows]
    assert {r.status for r in written(ctx)} == {DeliveryStatus.SENT}


async def test_it_drains_without_waiting_while_anything_is_due(ctx):
    open_cases(ctx, 12)  # each case's messages follow one another: several claims' worth
    sender, waits = Recorder(), []

    def due_now() -> int:
        return sum(1 for r in written(ctx) if r.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING))

    async def idle_wait(wake: asyncio.Event, timeout: float) -> None:
        waits.append(due_now())
        if waits[-1] == 0:
            raise asyncio.CancelledError  # drained: the test is over
        await asyncio.sleep(0)

    outbox = Outbox(ctx, sender, instance_id="test", concurrency=4, idle_wait=idle_wait)
    try:
        await asyncio.wait_for(outbox.run_forever(idle_seconds=3600), 30)
    except asyncio.CancelledError:
        pass
    assert len(sender.delivered) == len(written(ctx))
    assert waits == [0]  # never a wait while rows were due

    # Written while a pass runs (another request's change): straight on, no wait either.
    waits.clear()
    late = []

    async def deliver_and_write(message: Pending) -> None:
        await Recorder.deliver(sender, message)
        if not late:
            late.append(True)
            await asyncio.to_thread(open_cases, ctx, 1)
            outbox.wake()

    sender.deliver = deliver_and_write
    with ctx.db.transaction() as session:  # one more due, to start a pass
        session.add(
            OutboxMessage(
                escalation_id=None,
                topic=topics.DIGEST,
                audience=topics.PARTNERSHIP,
                payload={},
                created_at=ctx.clock.now(),
            )
        )
    try:
        await asyncio.wait_for(outbox.run_forever(idle_seconds=3600), 30)
    except asyncio.CancelledError:
        pass
    assert waits == [0] and due_now() == 0


class FakeTime:
    def __init__(self):
        self.now, self.slept = 0.0, []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_pacing_spaces_calls_per_key_on_the_injected_clock():
    time = FakeTime()
    pacer = Pacer(clock=lambda: time.now, sleep=time.sleep)
    second = Limit(per_second=1.0)
    started = []
    for channel in ["D1", "D1", "D2", "D1"]:
        await pacer.wait(("chat.postMessage", channel), second)
        started.append((channel, time.now))
    # One a second in each channel; another channel does not wait.
    assert started == [("D1", 0.0), ("D1", 1.0), ("D2", 1.0), ("D1", 2.0)]
    # A Tier 3 method: a minute's allowance at once, then 1.2 s apart.
    tier3 = Limit.per_minute(50)
    time.slept.clear()
    for _ in range(52):
        await pacer.wait(("chat.update",), tier3)
    assert [round(s, 6) for s in time.slept] == [1.2, 1.2]
    # Time passing refills it.
    time.now += 60
    time.slept.clear()
    await pacer.wait(("chat.update",), tier3)
    assert time.slept == []
