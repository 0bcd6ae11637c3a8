"""Reads never hold up changes; references come from one atomic statement, whichever instance asks."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func
from sqlmodel import select

from flows import escalations as lifecycle
from storage.atomic import next_reference_number
from storage.db import Database
from storage.models import Escalation, ReferenceCounter
from tests.conftest import TEACHER, a_form


def open_case(ctx):
    return lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)


def count_cases(session) -> int:
    return session.exec(select(func.count()).select_from(Escalation)).one()


def test_a_read_never_holds_up_a_change_and_sees_one_snapshot(ctx):
    open_case(ctx)
    with ctx.db.read() as session:
        assert count_cases(session) == 1
        # A change while the read is open commits at once (were the read holding the write lock, this
        # would wait out the busy timeout and fail), and the read still sees the database as it began.
        opened = open_case(ctx)
        assert count_cases(session) == 1
    assert opened.reference == "ESC-2026-0002"
    with ctx.db.read() as session:
        assert count_cases(session) == 2


def test_references_from_separate_engines_at_once_are_all_distinct(ctx):
    """Like instances in separate processes: each its own engine and connections, all asking at once."""
    engines = [Database(ctx.db.url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))

    def take(database: Database) -> list[int]:
        barrier.wait()
        numbers = []
        for _ in range(25):
            with database.transaction() as session:
                numbers.append(next_reference_number(session, 2027))
        return numbers

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            taken = [n for numbers in pool.map(take, engines) for n in numbers]
    finally:
        for database in engines:
            database.dispose()
    assert sorted(taken) == list(range(1, 101))
    with ctx.db.read() as session:
        assert session.get(ReferenceCounter, 2027).last == 100
