"""Benchmark of the outbox against the stand-in Slack over real HTTP on 127.0.0.1, on SQLite and on PostgreSQL:

1. messages per second: 1,000 cases opened at once (a card to each raiser, an invitation card to each named
   professional: 2,000 direct messages), delivered by the outbox with its pacing on (Slack's published limits,
   bot/pacing.py). The stand-in has no rate limits of its own: what limits the rate is the bot.
2. 09:30 on Friday 10 April 2026, with 1,000 open cases: 936 reminders fall due at once (the holders of both
   sides of the 468 cases due on Tuesday 14 April); the seconds from the due-work run until the last of them
   reached the stand-in (the target: within 60 s of their minute).
3. Slack calls per interaction over the whole case of tests/slack/test_escalate_end_to_end.py (raised, both
   sides through every stage to the Executive's decision): every call the stand-in recorded, over every request
   Slack sent the bot. Counted three ways: its 9 people new to the bot (the target's figure), the same with
   them known (looked up within the hour, the token checked), and a case resolved at Stage 1.

    .venv/bin/python bench/outbox.py          # prints the table
    measure({"sqlite": url, "postgresql": url}) -> rows, for bench/targets.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import func, select  # noqa: E402

from bench.engine import form  # noqa: E402
from bot.pacing import Pacer  # noqa: E402
from bot.standin.server import StandinUser  # noqa: E402
from flows import escalations as lifecycle  # noqa: E402
from flows import topics  # noqa: E402
from flows.people import PersonRef  # noqa: E402
from flows.reminders import send_due_reminders  # noqa: E402
from storage.models import DeliveryStatus, OutboxMessage  # noqa: E402
from tests.databases import PostgresServer  # noqa: E402
from tests.slack.conftest import PEOPLE, start_running  # noqa: E402
from tests.slack.test_escalate_end_to_end import (  # noqa: E402
    test_a_whole_case_with_both_sides_at_every_stage_to_the_executives_decision as whole_case,
)
from tests.slack.test_escalate_end_to_end import (  # noqa: E402
    test_the_receiving_sides_proposal_once_accepted_closes_the_case_with_both_names as resolved_at_stage_1,
)

CASES = 1000
DUE_FRIDAY = 468  # opened on Wednesday 1 April: Stage 1 due Tuesday 14 April, reminded Friday 10 April 09:30
WORKERS = 500
OPENED_EARLY = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 London
OPENED_LATER = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)  # Thursday: due Wednesday 15 April, reminded Monday
FRIDAY_0930 = datetime(2026, 4, 10, 8, 30, tzinfo=UTC)  # 09:30 London (BST)
TARGET_SECONDS = 60


# The calls per interaction are counted over each flow in its own database, beside "bench".
CALLS_DATABASES = ("calls", "calls_known", "calls_stage_1")


def person(kind: str, n: int) -> PersonRef:
    return PersonRef("slack", f"U0{kind}{n:05d}", f"{kind.title()} {n}", f"{kind.lower()}{n}@example.org")


def open_cases(running, first: int, count: int) -> None:
    ctx = running.ctx
    for i in range(first, first + count):
        raiser, worker = person("RAISER", i), person("WORKER", i % WORKERS)
        lifecycle.open_escalation(
            ctx,
            raiser,
            replace(form(i), professionals=[worker]),
            child_at_immediate_risk=False,
            discussed_with_manager=True,
        )


def count(running, *conditions) -> int:
    with running.ctx.db.read() as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(*conditions)).one()


async def outbox_figures(database_url: str) -> tuple[float, float, int]:
    """(messages per second opening 1,000 cases, seconds until the last 09:30 reminder arrived, how many)."""
    running = await start_running(database_url, pacer=Pacer())  # Slack's limits, really waited for
    try:
        for kind, n in (("RAISER", CASES), ("WORKER", WORKERS)):
            for i in range(n):
                p = person(kind, i)
                running.standin.users[p.user_id] = StandinUser(p.user_id, p.name, p.email)
        running.bot.outbox.wake = lambda: None  # the bench drives delivery itself
        running._worker.cancel()
        running._worker = None
        running.clock.set(OPENED_EARLY)
        await asyncio.to_thread(open_cases, running, 0, DUE_FRIDAY)
        running.clock.set(OPENED_LATER)
        await asyncio.to_thread(open_cases, running, DUE_FRIDAY, CASES - DUE_FRIDAY)
        waiting = count(running, OutboxMessage.status == DeliveryStatus.PENDING)
        started = time.perf_counter()
        await running.bot.outbox.drain(max_passes=1000)
        per_second = waiting / (time.perf_counter() - started)

        running.clock.set(FRIDAY_0930)
        posted_before = len(running.standin.ok_calls("chat.postMessage"))
        started = time.perf_counter()
        await asyncio.to_thread(send_due_reminders, running.ctx)
        await running.bot.outbox.drain(max_passes=1000)
        last = time.perf_counter() - started
        arrived = [
            c
            for c in running.standin.ok_calls("chat.postMessage")[posted_before:]
            if c.args.get("thread_ts")  # a reminder, threaded under the person's card
        ]
        reminders = count(running, OutboxMessage.topic == topics.REMINDER)
        assert len(arrived) == reminders, (len(arrived), reminders)
        return per_second, last, reminders
    finally:
        await running.stop()


# What each kind of call is, shortly, for the breakdown row: a file share is three calls (files_upload_v2).
CALL_KINDS = {
    "chat.postMessage": "post",
    "chat.update": "update",
    "views.open": "form",
    "users.info": "user",
    "files.getUploadURLExternal": "file",
    "upload": "file",
    "files.completeUploadExternal": "file",
}


def breakdown(calls) -> str:
    counted = Counter(CALL_KINDS.get(call.method, "other") for call in calls)
    return " ".join(f"{kind} {n}" for kind, n in counted.most_common())


async def calls_per_interaction(database_url: str, flow=whole_case, known=False) -> tuple[float, int, int, str]:
    """Every call the stand-in recorded over `flow`, per request Slack sent the bot. `known`: its people were
    looked up within the hour (the directory's cache) and the app has checked its token (auth.test), as in a bot
    that has been running; else all are new to it, as in the first case of a new install."""
    running = await start_running(database_url)
    try:
        if known:
            for person in PEOPLE.values():
                await running.bot.directory.person(person.id)
            await running.slack.command(PEOPLE["cscp"].id, text="help")  # Bolt checks its token once
        interactions = 0
        post = running.slack.post

        async def counted(*args, **kwargs):
            nonlocal interactions
            interactions += 1
            return await post(*args, **kwargs)

        running.slack.post = counted
        before = len(running.standin.calls)
        await flow(running)
        calls = running.standin.calls[before:]
        return len(calls) / interactions, len(calls), interactions, breakdown(calls)
    finally:
        await running.stop()


def measure(database_urls: Mapping[str, str]) -> list[dict]:
    """Rows: target, the SQLite figure, the PostgreSQL figure, whether the target is met on both."""
    figures = {}
    for name, url in database_urls.items():
        rate, last, reminders = asyncio.run(outbox_figures(url))
        figures[name] = {
            "rate": f"{rate:.0f} messages/s",
            "last": f"{last:.1f} s ({reminders} reminders)",
            "_last": last,
        }
        for key, flow, known in (
            ("calls", whole_case, False),
            ("calls_known", whole_case, True),
            ("calls_stage_1", resolved_at_stage_1, False),
        ):
            per, calls, interactions, kinds = asyncio.run(
                calls_per_interaction(url.replace("bench", key), flow, known)  # a database each
            )
            figures[name][key] = f"{per:.2f} ({calls} calls / {interactions} interactions)"
            figures[name][f"_{key}"] = per
            if key == "calls":
                figures[name]["kinds"] = kinds
    sqlite, postgresql = figures.get("sqlite", {}), figures.get("postgresql", {})
    rows = [
        ("outbox messages per second, 2,000 cards (pacing on; stand-in unlimited)", "rate", None),
        ("936 reminders due at 09:30, the last one in Slack within 60 s", "last", lambda f: f["_last"] <= 60),
        ("Slack calls per interaction, a whole case to Stage 5, at most 3", "calls", lambda f: f["_calls"] <= 3),
        ("  those calls by kind (a file share is 3 calls)", "kinds", None),
        ("  the same case, its 9 people known to the bot (looked up this hour)", "calls_known", None),
        ("  a case resolved at Stage 1, its 2 people new to the bot", "calls_stage_1", None),
    ]
    return [
        {
            "target": label,
            "sqlite": sqlite.get(key, "-"),
            "postgresql": postgresql.get(key, "-"),
            "met": all(check(f) for f in figures.values()) if check else None,
        }
        for label, key, check in rows
    ]


def print_table(rows: list[dict]) -> None:
    print(f"{'target':<75} {'SQLite':>38} {'PostgreSQL':>38}  met")
    for row in rows:
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        print(f"{row['target']:<75} {row['sqlite']:>38} {row['postgresql']:>38}  {met}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{folder}/bench.db"}
        server = PostgresServer()
        try:
            server.execute("CREATE DATABASE bench")
            for name in CALLS_DATABASES:
                server.execute(f"CREATE DATABASE {name}")
            urls["postgresql"] = server.url("bench")
            print_table(measure(urls))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
