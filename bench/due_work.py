"""The due-work pass at 10,000 open cases, SQLite and PostgreSQL side by side: the pass with some 4,500
reminders due, the pass with nothing due, and a fresh process's start-up to its first pass done (with its
peak resident memory). PostgreSQL is a throwaway server started as the tests start theirs (tests/databases.py).

    .venv/bin/python bench/due_work.py            # 10000 open cases
    .venv/bin/python bench/due_work.py 20000

Cases are opened through the lifecycle functions with an injected clock (300 of them, at Stages 1 to 3, on
working days spread over three weeks), then copied in SQL, stages and holders with them, to the number asked.
Nobody ran the pass while they were made, so the overdue ones have missed mornings: each gets one prompt.

The pass measured is the scheduler's job itself (`DueWork.run_once`: reminders, agreed actions, the working
day's card refresh, retention, the digest), on a Monday:
- "4,500 due": at 09:31, after the 09:00 pass of a running bot (which redrew the cards and the digest);
- "nothing due": a minute later (median of five);
- "start-up": a new process (imports, migrations, the pass) on the cases as made, at 09:31: every card redrawn,
  every reminder and the digest in that one first pass; three such processes, each on its own copy, and the
  median with the range (a busy 2-core machine swings one run by half a second).

`measure({"sqlite": url, "postgresql": url})` (empty databases) returns the rows for bench/targets.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if __name__ == "__main__" and sys.argv[1:2] == ["--start-up"]:
    # A fresh process: the time and memory counted from here include importing the bot.
    STARTED = time.perf_counter()

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.databases import open_at_stage  # noqa: E402
from bot.scheduler import DueWork  # noqa: E402
from flows.clock import ManualClock  # noqa: E402
from flows.context import Context  # noqa: E402
from flows.policy import load_policy  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Escalation, EscalationProfessional, StageHolder, StageRecord  # noqa: E402

OPEN_CASES = 10_000
MADE = 300
FIRST_DAY = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 9 March 2026, 10:00 GMT
PASS_AT = datetime(2026, 3, 30, 8, 31, tzinfo=UTC)  # Monday 30 March 2026, 09:31 BST: reminders due at 09:30
TARGETS = {"pass": 1.0, "nothing": 0.050, "start-up": 2.0, "rss": 200}
START_UPS = 3


def working_days(ctx: Context, first: datetime, count: int) -> list[datetime]:
    calendar, days, day = ctx.policy.working_calendar, [], first
    while len(days) < count:
        if calendar.is_working_day(calendar.local_date(day)):
            days.append(day)
        day += timedelta(days=1)
    return days


def make_cases(ctx: Context, clock: ManualClock) -> None:
    """MADE open cases, a third each at Stages 1, 2 and 3. Half opened over the first eleven working days
    (by Monday 30 March most are overdue, some due that day or in two days), half over the last five (nothing
    due yet)."""
    days = working_days(ctx, FIRST_DAY, 16)
    opened_on = sorted((i % 11 if i % 2 else 11 + i % 5, i) for i in range(MADE))
    for day, i in opened_on:
        clock.set(days[day])
        open_at_stage(ctx, i)


def copy_cases(database: Database, total: int) -> None:
    """Copies of the cases made (with their stages, holders and professionals) until `total` are open."""
    sources = {  # each table's rows that belong to the first `limit` cases made
        Escalation.__table__: "id <= {limit}",
        StageRecord.__table__: "escalation_id <= {limit}",
        StageHolder.__table__: "stage_id IN (SELECT id FROM stage WHERE escalation_id <= {limit})",
        EscalationProfessional.__table__: "escalation_id <= {limit}",
    }
    with database.transaction() as session:
        run = session.connection()
        made = run.execute(text("SELECT count(*) FROM escalation")).scalar()
        while made < total:
            offset = {t.name: run.execute(text(f"SELECT max(id) FROM {t.name}")).scalar() or 0 for t in sources}
            limit = min(MADE, total - made)
            shifted = {
                "id": "id + {table}",
                "reference": "'ESC-C-' || (id + {escalation})",
                "submission_key": "NULL",
                "escalation_id": "escalation_id + {escalation}",
                "stage_id": "stage_id + {stage}",
            }
            for table, source in sources.items():
                columns = [c.name for c in table.columns]
                values = [shifted.get(c, c).format(table=offset[table.name], **offset) for c in columns]
                run.execute(
                    text(
                        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                        f"FROM {table.name} WHERE {source.format(limit=limit)}"
                    )
                )
            made += limit
    if not database.is_sqlite:
        # AUTOCOMMIT: in a transaction ANALYZE's statistics were rolled back when the connection closed,
        # leaving the planner none (a bot's database has autovacuum's), and plans that differed run to run.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in sources:  # rows were inserted with their ids: move the sequences on
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) FROM {table.name}")
                )
            connection.execute(text("ANALYZE"))


def context(url: str, clock: ManualClock) -> Context:
    database = Database(url)
    upgrade(database)
    return Context(db=database, policy=load_policy(), clock=clock)


def counted(ctx: Context) -> dict[str, int]:
    with ctx.db.read() as session:
        rows = session.execute(
            text("SELECT topic, count(*) FROM outbox_message GROUP BY topic"),
        ).all()
        ledger = session.execute(text("SELECT kind, count(*) FROM reminder_sent GROUP BY kind")).all()
    return {"messages": sum(n for _, n in rows), **{f"ledger {k}": n for k, n in ledger}}


def a_pass(ctx: Context) -> float:
    started = time.perf_counter()
    asyncio.run(DueWork(ctx).run_once())
    return time.perf_counter() - started


def seed(url: str, open_cases: int) -> None:
    clock = ManualClock(FIRST_DAY)
    ctx = context(url, clock)
    make_cases(ctx, clock)
    copy_cases(ctx.db, open_cases)
    ctx.db.dispose()


def copy_database(url: str) -> str:
    """A copy of the database as it is, for the start-up run: VACUUM INTO on SQLite, a template on PostgreSQL."""
    parsed = make_url(url)
    if url.startswith("sqlite"):
        target = f"{parsed.database}.start-up"
        for leftover in (target, f"{target}-wal", f"{target}-shm"):  # VACUUM INTO writes only a new file
            Path(leftover).unlink(missing_ok=True)
        with closing(sqlite3.connect(parsed.database, isolation_level=None)) as connection:
            connection.execute("VACUUM INTO ?", (target,))
        return f"sqlite:///{target}"
    name = f"{parsed.database}_start_up"
    server = Database(parsed.set(database="postgres").render_as_string(hide_password=False))
    with server.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def start_ups(template: str, runs: int = START_UPS) -> dict:
    """`runs` fresh processes, each on its own copy of the database as made (one machine's run swings by half a
    second either way when it is busy): the median run's figures, with the range of seconds and the largest RSS."""
    figures = sorted((start_up(copy_database(template)) for _ in range(runs)), key=lambda r: r["seconds"])
    median = dict(figures[len(figures) // 2])
    median["range"] = (figures[0]["seconds"], figures[-1]["seconds"])
    median["rss_mb"] = max(r["rss_mb"] for r in figures)
    return median


def start_up(url: str) -> dict:
    """A new process: import the bot, migrate, run the first pass at PASS_AT. Its seconds and peak RSS."""
    command = [sys.executable, str(Path(__file__).resolve()), "--start-up", url, PASS_AT.isoformat()]
    finished = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _start_up_here(url: str, at: str) -> None:
    import resource

    import bot.runtime  # noqa: F401  everything the running bot imports

    clock = ManualClock(datetime.fromisoformat(at))
    migrated = time.perf_counter()
    ctx = context(url, clock)
    first = time.perf_counter()
    asyncio.run(DueWork(ctx).run_once())
    done = time.perf_counter()
    figures = counted(ctx)
    ctx.db.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": done - STARTED,
                "imports": migrated - STARTED,
                "migrations": first - migrated,
                "pass": done - first,
                "rss_mb": rss_mb,
                **figures,
            }
        )
    )


def run(url: str, open_cases: int) -> dict:
    seed(url, open_cases)
    fresh = copy_database(url)
    clock = ManualClock(PASS_AT.replace(hour=8, minute=0))  # 09:00 BST: the morning's first pass
    ctx = context(url, clock)
    a_pass(ctx)
    if not ctx.db.is_sqlite:
        # By 09:31 autovacuum has analysed the ledger the 09:00 pass filled (it does after 50 rows + 10%).
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    before = counted(ctx)
    clock.set(PASS_AT)
    busy = a_pass(ctx)
    after = counted(ctx)
    idle = []
    for _ in range(5):
        clock.advance(timedelta(minutes=1))
        idle.append(a_pass(ctx))
    nothing_more = counted(ctx) == after
    with ctx.db.read() as session:
        open_now = session.execute(text("SELECT count(*) FROM escalation WHERE status = 'open'")).scalar()
    ctx.db.dispose()
    recorded = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    reminders = sum(v for k, v in recorded.items() if k.startswith("ledger ") and k != "ledger day_refresh")
    return {
        "open": open_now,
        "pass": busy,
        "reminders": reminders,
        "messages": recorded["messages"],
        "nothing": statistics.median(idle),
        "nothing_more": nothing_more,
        "start-up": start_ups(fresh),
    }


def rows(results: dict[str, dict]) -> list[dict]:
    """The table: target, a figure per database, whether the target is met on both."""

    def row(target: str, figure, met) -> dict:
        return {
            "target": target,
            "sqlite": figure(results["sqlite"]),
            "postgresql": figure(results["postgresql"]),
            "met": all(met(r) for r in results.values()),
        }

    n = results["sqlite"]["open"]
    return [
        row(
            f"due-work pass, {n:,} open, ~4,500 reminders due: < 1 s",
            lambda r: f"{r['pass'] * 1000:.0f} ms ({r['reminders']:,} reminders, {r['messages']:,} messages)",
            lambda r: r["pass"] < TARGETS["pass"],
        ),
        row(
            f"due-work pass, {n:,} open, nothing due: < 50 ms",
            lambda r: f"{r['nothing'] * 1000:.1f} ms" + ("" if r["nothing_more"] else " (wrote something!)"),
            lambda r: r["nothing"] < TARGETS["nothing"] and r["nothing_more"],
        ),
        row(
            f"start-up to first pass done, {n:,} open (median of {START_UPS}): < 2 s",
            lambda r: (
                f"{r['start-up']['seconds']:.2f} s ({r['start-up']['range'][0]:.2f}-{r['start-up']['range'][1]:.2f}; "
                f"pass {r['start-up']['pass']:.2f} s)"
            ),
            lambda r: r["start-up"]["seconds"] < TARGETS["start-up"],
        ),
        row(
            f"start-up peak resident memory, {n:,} open (largest of {START_UPS}): < 200 MB",
            lambda r: f"{r['start-up']['rss_mb']:.0f} MB",
            lambda r: r["start-up"]["rss_mb"] < TARGETS["rss"],
        ),
    ]


def measure(database_urls: dict[str, str], open_cases: int = OPEN_CASES) -> list[dict]:
    """The rows for bench/targets.py, from empty databases: {"sqlite": url, "postgresql": url}."""
    return rows({kind: run(url, open_cases) for kind, url in database_urls.items()})


def main(open_cases: int) -> None:
    from tests.databases import PostgresServer

    server = PostgresServer()
    try:
        server.execute("CREATE DATABASE due_work")
        with tempfile.TemporaryDirectory() as folder:
            table = measure(
                {"sqlite": f"sqlite:///{folder}/due_work.db", "postgresql": server.url("due_work")}, open_cases
            )
    finally:
        server.stop()
    width = max(len(r["target"]) for r in table)
    print(f"{'target':<{width}}  {'SQLite':>44}  {'PostgreSQL':>44}  met")
    for r in table:
        print(f"{r['target']:<{width}}  {r['sqlite']:>44}  {r['postgresql']:>44}  {'yes' if r['met'] else 'NO'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--start-up"]:
        _start_up_here(sys.argv[2], sys.argv[3])
    else:
        main(int(sys.argv[1]) if sys.argv[1:] else OPEN_CASES)
