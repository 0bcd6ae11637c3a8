"""Three `escalation-bot run` processes on one database behind the stand-in Slack, as behind a load balancer.

Raises, escalations and clicks go to an instance chosen at random, request by request; the same escalation
is sent to two instances at once; one instance is killed with SIGKILL mid-way and started again. The
database is seeded with cases whose deadlines have passed at the bots' clock (stopped by
ESCALATION_BOT_FAKE_NOW), so all three work out the same reminders and the week's digest when they start.
Then: every reference is unique, each race advanced its stage once, every message was delivered once and
in order per case, each reminder was written once, and there is one digest.

On SQLite the three share one file; `pytest --database=postgresql` runs it on PostgreSQL.
"""

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter, defaultdict

import aiohttp
from sqlmodel import select

from bot.standin.server import SlackStandin
from storage.db import Database
from storage.models import Escalation, OutboxMessage, ReminderSent, StageRecord
from tests.bot.test_crash_recovery import seed, standin_and_bot_env
from tests.databases import free_port
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.harness import FakeSlackClient, fill
from tests.slack.test_escalate_end_to_end import FORM
from tests.slack.test_once_through_crashes import outbox_ids_posted

INSTANCES = 3
RAISES = 6
SECRET = "several-instances-secret"
TIME_LIMIT_SECONDS = 600  # a hang, not a slow machine (a busy one takes minutes)


class Instance:
    """One `escalation-bot run` process, by its stable name; started again under the same name."""

    def __init__(self, name: str, env: dict, standin: SlackStandin, folder):
        self.name, self.env, self.standin, self.folder = name, env, standin, folder
        self.process: asyncio.subprocess.Process | None = None
        self.slack = None
        self.lives = 0

    async def start(self) -> None:
        port = free_port()
        self.lives += 1
        with (self.folder / f"{self.name}-{self.lives}.log").open("wb") as output:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=self.folder,
                env=dict(self.env, INSTANCE_ID=self.name, PORT=str(port)),
                stdout=output,
                stderr=output,
            )
        if self.slack is not None:
            await self.slack.close()
        self.slack = FakeSlackClient(f"http://127.0.0.1:{port}/slack/events", self.standin, secret=SECRET)
        await self._listening(port)

    async def _listening(self, port: int) -> None:
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            while time.monotonic() - started < 30:
                assert self.process.returncode is None, self.log()
                try:
                    async with session.get(f"http://127.0.0.1:{port}/"):
                        return
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} is not listening: {self.log()}")

    def log(self) -> str:
        return (self.folder / f"{self.name}-{self.lives}.log").read_text()

    async def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        if self.slack is not None:
            await self.slack.close()


def card_for(standin: SlackStandin, user_id: str, reference: str):
    cards = [
        m
        for m in standin.messages_in(standin.dm_channel(user_id))
        if any(b.get("block_id") == "case_actions" for b in m.blocks) and reference in str(m.blocks)
    ]
    return cards[-1] if cards else None


async def test_three_instances_on_one_database_send_everything_once_and_in_order(tmp_path, database_url):
    started = time.monotonic()
    database = Database(database_url)
    seed(database)
    with database.read() as session:
        seeded = len(session.exec(select(Escalation)).all())

    standin, runner, env = await standin_and_bot_env(database_url, SECRET)
    chooser = random.Random(20260415)
    instances = [Instance(f"instance-{n}", env, standin, tmp_path) for n in range(INSTANCES)]
    teacher = PEOPLE["teacher"].id
    raced: list[str] = []

    def any_instance() -> Instance:
        return chooser.choice([i for i in instances if i.process.returncode is None])

    try:
        await asyncio.gather(*(i.start() for i in instances))
        victim = chooser.choice(instances)
        for n in range(RAISES):
            if n == RAISES // 2:
                await victim.kill()  # mid-way, whatever it was sending
            if n == RAISES // 2 + 1:
                await victim.start()  # the same name: it takes back its own claims at once
            assert (await any_instance().slack.command(teacher)).status == 200
            gate = {"immediate_risk": "no", "discussed_with_manager": "yes"}
            assert (await any_instance().slack.submit(teacher, gate)).body["response_action"] == "update"
            form = dict(FORM, child_case_reference=f"MOS-{n:06d}")
            reply = await any_instance().slack.submit(teacher, form)
            assert reply.status == 200, reply.body

        with database.read() as session:
            references = session.exec(select(Escalation.reference).where(Escalation.id > seeded)).all()
        for reference in references:
            await standin.wait_for(lambda r=reference: card_for(standin, teacher, r) is not None, timeout=60)
            card = card_for(standin, teacher, reference)
            assert (await any_instance().slack.click(teacher, card.blocks, "case_escalate")).status == 200
            # The same submission reaches two instances at once (a double click, a retry by Slack).
            first, second = chooser.sample(instances, 2)
            view = standin.open_view(teacher)
            answers = {"reason": "Not resolved at Stage 1.", "next_holders": [PEOPLE["head"].id]}
            payload = first.slack.submission_payload(teacher, view, fill(view, answers))
            await asyncio.gather(first.slack.send_interaction(payload), second.slack.send_interaction(payload))
            raced.append(reference)

        def drained() -> bool:
            with database.read() as session:
                statuses = Counter(session.exec(select(OutboxMessage.status)).all())
            return not statuses["pending"] + statuses["sending"]

        while not drained():
            assert time.monotonic() - started < TIME_LIMIT_SECONDS, "not drained in time"
            for instance in instances:
                assert instance.process.returncode is None, instance.log()
            await asyncio.sleep(0.1)
    finally:
        for instance in instances:
            await instance.stop()
        await runner.cleanup()

    with database.read() as session:
        cases = session.exec(select(Escalation)).all()
        stages = session.exec(select(StageRecord)).all()
        outbox = session.exec(select(OutboxMessage)).all()
        ledger = session.exec(select(ReminderSent)).all()
    database.dispose()
    by_id = {row.id: row for row in outbox}

    # Unique references, and each raced escalation advanced its case once.
    assert len({c.reference for c in cases}) == len(cases) == seeded + RAISES
    stages_of = Counter(s.escalation_id for s in stages)
    for case in cases:
        if case.reference in raced:
            assert case.current_stage == 2 and stages_of[case.id] == 2, case.reference
    # Every message delivered once, nothing failed, and each case's messages arrived in the order written.
    assert {row.status for row in outbox} == {"sent"}
    posted = outbox_ids_posted(standin)
    # A file share carries no metadata: the paperwork's rows are counted by their files instead, once each. (The
    # first of a case's partnership rows, Stage 3 started with the form, posts the case's post before it.)
    documents = {row.id for row in outbox if row.topic == "document" or "document" in row.payload}
    assert len([m for m in standin.messages if m.files]) == len(documents)
    should_post = {row.id for row in outbox if row.audience != "cards"} - documents
    assert should_post <= {i for i, _ in posted} <= should_post | documents and set(posted.values()) == {1}
    order = defaultdict(list)
    for message in standin.messages:
        if message.files:
            continue
        row = by_id[message.metadata["event_payload"]["outbox_id"]]
        if row.escalation_id is not None:
            order[row.escalation_id].append(row.id)
    assert all(ids == sorted(ids) for ids in order.values()), order
    # One reminder each: one ledger row per reminder (the unique key), and one message per holder for it.
    reminders = [r for r in ledger if r.kind in ("due_soon", "due_today", "overdue")]
    assert reminders
    sent = Counter(
        (r.escalation_id, r.recipient_id, r.payload["stage"], r.payload["kind"], r.payload["due_on"])
        for r in outbox
        if r.topic == "reminder"
    )
    assert sent and set(sent.values()) == {1}
    assert Counter(r.topic for r in outbox)["digest"] == 1
    digests = [
        m for m in standin.messages_in(CSCP_CHANNEL, top_level=True) if m.metadata and by_id[_id(m)].topic == "digest"
    ]
    assert len(digests) == 1
    print(
        f"\n{INSTANCES} instances ({sum(i.lives for i in instances)} lives), {len(cases)} cases, "
        f"{len(outbox)} outbox rows, {len(standin.messages)} messages posted in {time.monotonic() - started:.1f}s"
    )


def _id(message) -> int:
    return message.metadata["event_payload"]["outbox_id"]
