"""SQLite and PostgreSQL side by side: the weekly digest at 1,000, 10,000 and 100,000 historical cases (time
and the peak Python heap it adds), the reminders pass with nothing due (at the open cases made), and how many writes
are refused while the largest digest is built. PostgreSQL is a throwaway server started as the tests start
theirs (tests/databases.py).

    .venv/bin/python bench/databases.py            # 1000 10000 100000
    .venv/bin/python bench/databases.py 1000 10000

Cases are made through the lifecycle functions (a few hundred, open and closed at every stage), then the
closed ones are copied in SQL, a year back, to make the history: the digest must not pay for it.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench.engine import form  # noqa: E402
from flows import escalations as lifecycle  # noqa: E402
from flows.clock import ManualClock  # noqa: E402
from flows.context import Context  # noqa: E402
from flows.digest import build_digest  # noqa: E402
from flows.people import PersonRef  # noqa: E402
from flows.policy import load_policy  # noqa: E402
from flows.reminders import send_due_reminders  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Escalation, StageRecord  # noqa: E402
from tests.databases import PostgresServer  # noqa: E402

START = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
MADE = 300  # through the lifecycle functions; the rest is copied
RAISER = PersonRef("slack", "UTEACHER", "Teacher", "t@example")
MANAGERS = [PersonRef("slack", f"UMGR{n}", f"Manager {n}", "") for n in range(4)]


def open_at_stage(ctx: Context, i: int):
    """Case i, opened and taken to Stage 1 + i % 3 through the lifecycle (for the benchmarks' seeds)."""
    case = lifecycle.open_escalation(ctx, RAISER, form(i), child_at_immediate_risk=False, discussed_with_manager=True)
    for holder in MANAGERS[: i % 3]:
        actor = RAISER if case.current_stage == 1 else MANAGERS[case.current_stage - 2]
        case = lifecycle.escalate(ctx, case.reference, actor, version=case.version, reason="r", next_holders=[holder])
    return case


def make_cases(ctx: Context, n: int) -> None:
    """n cases: a third left open at Stages 1 to 3, the rest closed (resolved or withdrawn) at one of them."""
    for i in range(n):
        case = open_at_stage(ctx, i)
        if i % 3:
            actor = RAISER if case.current_stage == 1 else MANAGERS[case.current_stage - 2]
            lifecycle.withdraw(ctx, case.reference, actor, version=case.version, reason="Agreed.")


def copy_history(database: Database, total: int) -> None:
    """Copies of the closed cases (and their stages), closed a year before, until there are `total` cases."""
    escalation, stage = Escalation.__table__, StageRecord.__table__
    e_cols = [c.name for c in escalation.columns]
    s_cols = [c.name for c in stage.columns]
    with database.transaction() as session:
        run = session.connection()
        closed = run.execute(text("SELECT count(*) FROM escalation WHERE status != 'open'")).scalar()
        made = run.execute(text("SELECT count(*) FROM escalation")).scalar()
        while made < total:
            offset = run.execute(text("SELECT max(id) FROM escalation")).scalar()
            stage_offset = run.execute(text("SELECT max(id) FROM stage")).scalar()
            limit = min(closed, total - made)
            shifted = {
                "id": f"id + {offset}",
                "reference": f"'ESC-H-' || (id + {offset})",
                "submission_key": "NULL",
                "closed_at": "closed_at - interval '365 days'"
                if not database.is_sqlite
                else "datetime(closed_at, '-365 days')",
            }
            run.execute(
                text(
                    f"INSERT INTO escalation ({', '.join(e_cols)}) SELECT "
                    + ", ".join(shifted.get(c, c) for c in e_cols)
                    + f" FROM escalation WHERE status != 'open' AND id <= {MADE * 2} ORDER BY id LIMIT {limit}"
                )
            )
            moved = {"id": f"s.id + {stage_offset}", "escalation_id": f"s.escalation_id + {offset}"}
            run.execute(
                text(
                    f"INSERT INTO stage ({', '.join(s_cols)}) SELECT "
                    + ", ".join(moved.get(c, f"s.{c}") for c in s_cols)
                    + " FROM stage s WHERE s.escalation_id IN "
                    + f"(SELECT id - {offset} FROM escalation WHERE id > {offset})"
                )
            )
            made += limit
    if not database.is_sqlite:
        # AUTOCOMMIT: in a transaction ANALYZE's statistics were rolled back when the connection closed,
        # leaving the planner none (a bot's database has autovacuum's), and plans that differed run to run.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("escalation", "stage"):  # rows were inserted with their ids: move the sequences on
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
                )
            connection.execute(text("ANALYZE"))


def measure(function) -> tuple[float, float]:
    """Seconds, and the peak Python memory the call added (MB)."""
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    function()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak / 1e6


def writes_refused_during(ctx: Context, function) -> tuple[int, int]:
    """Writes tried (a case opened, again and again) while `function` runs in another thread; how many failed."""
    done, tried, refused = threading.Event(), [0], [0]

    def write():
        while not done.is_set():
            tried[0] += 1
            try:
                lifecycle.open_escalation(
                    ctx, RAISER, form(0), child_at_immediate_risk=False, discussed_with_manager=True
                )
            except Exception:
                refused[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(30):  # long enough for a few dozen writes
            function()
    finally:
        done.set()
        writer.join()
    return tried[0], refused[0]


DIGEST_SECONDS, DIGEST_MB = 0.5, 150  # issue 14's targets at the largest size


def run(url: str, sizes: list[int]) -> dict:
    """The digest at each size (seconds, heap peak in MB), writes tried and refused while digests are built at the
    largest, and the reminders pass with nothing due."""
    database = Database(url)
    upgrade(database)
    clock = ManualClock(START)
    ctx = Context(db=database, policy=load_policy(), clock=clock)
    make_cases(ctx, MADE)
    clock.set(START + timedelta(days=30))
    figures: dict = {"digest": {}}
    for size in sizes:
        copy_history(database, size)
        figures["digest"][size] = measure(lambda: build_digest(ctx, clock.now() - timedelta(days=7), clock.now()))
    figures["writes"] = writes_refused_during(
        ctx, lambda: build_digest(ctx, clock.now() - timedelta(days=7), clock.now())
    )
    clock.set(clock.now().replace(hour=20))  # outside working hours: nothing is due
    figures["nothing_due"], _ = measure(lambda: send_due_reminders(ctx))
    with database.read() as session:
        figures["open"] = session.execute(text("SELECT count(*) FROM escalation WHERE status = 'open'")).scalar()
    database.dispose()
    return figures


def rows(figures: dict[str, dict], sizes: list[int]) -> list[dict]:
    """Rows for bench/targets.py: target, the SQLite figure, the PostgreSQL figure, whether it is met on both."""

    def row(target, shown, met):
        return {
            "target": target,
            "sqlite": shown(figures["sqlite"]) if "sqlite" in figures else "-",
            "postgresql": shown(figures["postgresql"]) if "postgresql" in figures else "-",
            "met": all(met(f) for f in figures.values()) if met else None,
        }

    largest = sizes[-1]
    out = [
        row(
            f"digest at {size:,} cases (time, heap peak)"
            + (f": < {DIGEST_SECONDS * 1000:.0f} ms, < {DIGEST_MB} MB" if size == largest else ""),
            lambda f, size=size: f"{f['digest'][size][0] * 1000:.0f} ms, {f['digest'][size][1]:.1f} MB",
            (lambda f: f["digest"][largest][0] < DIGEST_SECONDS and f["digest"][largest][1] < DIGEST_MB)
            if size == largest
            else None,
        )
        for size in sizes
    ]
    out.append(
        row(
            f"writes refused while digests at {largest:,} are built: none",
            lambda f: f"{f['writes'][1]} of {f['writes'][0]}",
            lambda f: f["writes"][1] == 0,
        )
    )
    return out


def main(sizes: list[int]) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = run(f"sqlite:///{folder}/bench.db", sizes)
    server = PostgresServer()
    try:
        server.execute("CREATE DATABASE bench")
        results["postgresql"] = run(server.url("bench"), sizes)
    finally:
        server.stop()
    table = rows(results, sizes)
    table.append(
        {
            "target": "due-work reminders, nothing due",
            **{k: f"{v['nothing_due'] * 1000:.0f} ms ({v['open']} open)" for k, v in results.items()},
            "met": None,
        }
    )
    print_table(table)


def print_table(table: list[dict]) -> None:
    width = max(len(r["target"]) for r in table)
    print(f"{'target':<{width}}  {'SQLite':>40}  {'PostgreSQL':>40}  met")
    for r in table:
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        print(f"{r['target']:<{width}}  {r['sqlite']:>40}  {r['postgresql']:>40}  {met}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
