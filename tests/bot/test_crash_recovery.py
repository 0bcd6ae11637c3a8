"""`escalation-bot run` killed with SIGKILL again and again between Slack posting a message and the bot
recording it: after each restart every message is still sent exactly once, and none is lost.

The bot is a real process (the command as deployed) against the stand-in Slack in this process. The
stand-in, on a chosen chat.postMessage, records the message and then kills the bot before answering.
The database is seeded with cases (their notifications waiting in the outbox) whose deadlines have
passed at the bot's clock, stopped by ESCALATION_BOT_FAKE_NOW, so the scheduler's due-work job also
writes reminders, overdue prompts and card refreshes when the bot starts. With the clock stopped no
lease ever ends, so each restart goes on only by taking back its own last start's claims at once.

Run on its own, with the figures printed:
    .venv/bin/python -m pytest tests/bot/test_crash_recovery.py -s
"""

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlmodel import select

from bot.cli import FAKE_NOW
from bot.scheduler import DueWork
from bot.standin.server import SlackStandin
from flows import escalations as lifecycle
from flows import topics
from flows.clock import ManualClock
from flows.context import Context
from flows.policy import load_policy
from storage.db import Database
from storage.models import OutboxMessage
from tests.bot.test_cli import SLACK_SETTINGS
from tests.conftest import SERVICE_MANAGER, TEACHER, TEACHER_MANAGER, WED_1_APRIL_2026, a_form
from tests.databases import free_port
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE, _serve, manifest_scopes
from tests.slack.test_once_through_crashes import outbox_ids_posted

ROOT = Path(__file__).resolve().parents[2]
CASES = 30
KILLS = 24
# Wednesday 15 April 2026, 10:00 London: Stage 1 of the cases above was due yesterday at 5pm.
NOW = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)
# Slack's answers after which a life may be killed: a post, or a reply shared with its file.
POSTING = ("chat.postMessage", "files.completeUploadExternal")
TIME_LIMIT_SECONDS = 600  # a hang, not a slow machine: the run takes about 35 s alone, minutes on a busy one


def seed(database: Database) -> None:
    """Cases opened on 1 April, a third still at Stage 1, a third at 2, a third at 3 (the CSCP told)."""
    ctx = Context(db=database, policy=load_policy(), clock=ManualClock(WED_1_APRIL_2026))
    for n in range(CASES):
        case = lifecycle.open_escalation(
            ctx,
            TEACHER,
            a_form(child_case_reference=f"MOS-{n:06d}"),
            child_at_immediate_risk=False,
            discussed_with_manager=True,
        )
        for actor, holder in ((TEACHER, TEACHER_MANAGER), (TEACHER_MANAGER, SERVICE_MANAGER))[: n % 3]:
            case = lifecycle.escalate(
                ctx, case.reference, actor, version=case.version, reason="r", next_holders=[holder]
            )


async def standin_and_bot_env(database_url: str, secret: str) -> tuple[SlackStandin, web.AppRunner, dict]:
    """The stand-in Slack, served on 127.0.0.1, and the environment of an `escalation-bot run` against it with
    its clock stopped at NOW."""
    standin = SlackStandin(scopes=manifest_scopes(), users=list(PEOPLE.values()), wall=NOW.timestamp)
    standin.channels[CSCP_CHANNEL] = "private"
    runner, standin_port = await _serve(standin.app())
    env = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS}
    env.update(
        SLACK_BOT_TOKEN=standin.token_expected,
        SLACK_SIGNING_SECRET=secret,
        CSCP_CHANNEL_ID=CSCP_CHANNEL,
        CSCP_MEMBERS=PEOPLE["cscp"].id,
        SLACK_API_URL=f"http://127.0.0.1:{standin_port}/api/",
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        SLACK_PACING="false",  # the stand-in has no rate limits; pacing is tested in tests/bot/test_outbox_delivery.py
        PYTHONPATH=str(ROOT),
        **{FAKE_NOW: NOW.isoformat()},
    )
    return standin, runner, env


@dataclass
class Life:
    process: asyncio.subprocess.Process
    kill_at: int | None  # the chat.postMessage of this life after which it is killed
    posts: int = 0


async def test_killed_between_slacks_answer_and_the_record_every_message_is_sent_once(
    tmp_path, database_url, databases
):
    started = time.monotonic()
    database = Database(database_url)
    seed(database)
    database.dispose()  # nothing may be connected to a PostgreSQL database while it is copied
    expected = await expected_outbox(databases.copy(database_url, tmp_path))

    standin, runner, env = await standin_and_bot_env(database_url, "crash-secret")
    env.update(INSTANCE_ID="crash-test-slot")
    chooser = random.Random(20260415)
    killed_after: list[tuple[int, bool]] = []  # each message Slack had posted as the bot died: (outbox id, reply?)
    life: Life | None = None

    killed_sharing: list[str] = []  # each thread where Slack had shared a reply with its form as the bot died

    async def kill_on_the_chosen_post(method, args, body):
        if method not in POSTING or not body.get("ok") or life is None or life.kill_at is None:
            return
        life.posts += 1
        if life.posts == life.kill_at:
            os.kill(life.process.pid, signal.SIGKILL)  # Slack has posted it; the bot will never hear so
            await life.process.wait()
            if method == "chat.postMessage":
                killed_after.append((args["metadata"]["event_payload"]["outbox_id"], bool(args.get("thread_ts"))))
            else:
                killed_sharing.append(args["thread_ts"])

    standin.after_acting = kill_on_the_chosen_post

    def drained() -> bool:
        with database.transaction() as session:
            statuses = Counter(session.exec(select(OutboxMessage.status)).all())
        return sum(statuses.values()) == sum(expected.values()) and not statuses["pending"] + statuses["sending"]

    lives = 0
    try:
        while True:
            log = tmp_path / f"life-{lives}.log"
            with log.open("wb") as output:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "run",
                    cwd=tmp_path,
                    env=dict(env, PORT=str(free_port())),
                    stdout=output,
                    stderr=output,
                )
            kills = len(killed_after) + len(killed_sharing)
            life = Life(process, chooser.randint(1, 20) if kills < KILLS else None)
            lives += 1
            while process.returncode is None and not drained():
                assert time.monotonic() - started < TIME_LIMIT_SECONDS, f"not drained after {lives} lives"
                await asyncio.sleep(0.05)
            if process.returncode is not None and process.returncode != -signal.SIGKILL:
                raise AssertionError(f"the bot stopped by itself: {log.read_text()}")
            if drained():
                break
    finally:
        if life and life.process.returncode is None:
            life.process.terminate()
            await life.process.wait()
        await runner.cleanup()

    with database.transaction() as session:
        outbox = session.exec(select(OutboxMessage)).all()
    database.dispose()
    posted = outbox_ids_posted(standin)
    by_id = {r.id: r for r in outbox}
    # A file share carries no metadata: the notification forms are counted by their files, one per row. (The
    # first of a case's partnership rows, Stage 3 started with the form, posts the case's post before it.)
    documents = {r.id for r in outbox if r.topic == "document" or "document" in r.payload}
    files = [m for m in standin.messages if m.files]
    should_post = {r.id for r in outbox if r.audience != "cards"} - documents
    lost = sorted(should_post - {i for i, _ in posted})
    duplicated = sum(n - 1 for n in posted.values())
    where_killed = Counter(
        f"{by_id[i].topic} in "
        + ("a DM" if by_id[i].audience == "person" else "a CSCP thread" if reply else "the CSCP channel")
        for i, reply in killed_after
    )
    print(
        f"\n{len(killed_after) + len(killed_sharing)} crash cycles ({lives} lives) in "
        f"{time.monotonic() - started:.1f}s, killed after posting {dict(where_killed)}, after sharing a reply with "
        f"its form {len(killed_sharing)}; "
        f"{len(outbox)} outbox rows ({dict(Counter(r.topic for r in outbox if r.id in should_post))} to post), "
        f"{len(standin.messages)} messages posted, {len(lost)} lost, {duplicated} duplicated"
    )

    assert len(killed_after) + len(killed_sharing) >= 20
    assert not lost and not duplicated, (lost, posted.most_common(5))
    assert {r.status for r in outbox} == {"sent"}
    assert what_is_owed_rows(outbox) == expected  # no reminder lost or recorded twice by the due-work job
    # Every message was posted for a row that posts, tagged with its id, and where that row's message goes.
    assert len(files) == len(documents) == CASES // 3  # each Stage 3 case's form, in its thread, once
    assert all(m.thread_ts and m.channel == CSCP_CHANNEL for m in files)
    assert len(standin.messages) == sum(posted.values()) + len(files)
    assert {i for i, _ in posted} <= should_post | documents
    people = {p.id for p in PEOPLE.values()}
    cards_at_top_level = {m.ts for m in standin.messages if m.thread_ts is None and m.blocks}
    for message in (m for m in standin.messages if not m.files):
        row = by_id[message.metadata["event_payload"]["outbox_id"]]
        if row.audience == "person":
            assert message.channel.startswith("D") and message.channel[1:] in people
            # A person has one card per case: later news about it, reminders among them, goes in its thread.
            if message.thread_ts:
                assert row.topic in topics.CARD_TOPICS | {topics.REMINDER}, row.topic
                assert message.thread_ts in cards_at_top_level, row.topic
            else:
                assert row.topic != topics.REMINDER or message.blocks, row.topic
        else:
            assert message.channel == CSCP_CHANNEL
    # At top level in the CSCP channel: one post per case at Stage 3 (a third of them), and the digest.
    top_level = [
        by_id[m.metadata["event_payload"]["outbox_id"]]
        for m in standin.messages_in(CSCP_CHANNEL, top_level=True)
        if not m.files
    ]
    assert Counter(r.topic for r in top_level) == {"stage_started": CASES // 3, "digest": 1}
    assert len({r.escalation_id for r in top_level if r.topic == "stage_started"}) == CASES // 3
    for outbox_id, reply in killed_after:  # the very messages posted as the bot died: there once, recorded sent
        assert posted[outbox_id, reply] == 1 and by_id[outbox_id].status == "sent"
    for thread in killed_sharing:  # the very replies shared with their form as the bot died: there once
        assert len([m for m in files if m.thread_ts == thread]) == 1


async def expected_outbox(copy_url: str) -> Counter:
    """What the outbox must hold once the bot has worked out what is due at NOW: found on a copy."""
    database = Database(copy_url)
    await DueWork(Context(db=database, policy=load_policy(), clock=ManualClock(NOW))).run_once()
    with database.transaction() as session:
        owed_rows = what_is_owed_rows(session.exec(select(OutboxMessage)).all())
    database.dispose()
    return owed_rows


def what_is_owed_rows(outbox) -> Counter:
    return Counter(
        (r.escalation_id, r.topic, r.audience, r.recipient_id, json.dumps(r.payload, sort_keys=True)) for r in outbox
    )
