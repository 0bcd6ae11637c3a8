"""Two people pressing at the same moment: a stage advances exactly once."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlmodel import select

from flows import escalations as lifecycle
from flows.errors import Refused
from storage.models import AuditEvent, OutboxMessage, StageRecord
from tests.conftest import TEACHER, TEACHER_MANAGER, a_form


def _press_escalate(ctx, reference, version, actor, barrier):
    barrier.wait()
    try:
        return lifecycle.escalate(
            ctx, reference, actor, version=version, reason="Both pressed.", next_holders=[TEACHER_MANAGER]
        )
    except Refused as refused:
        return refused


def test_two_simultaneous_escalations_advance_the_stage_once(ctx):
    """A double press, or two tabs: the same holder's two escalations at the same moment."""
    rounds = 15
    for _ in range(rounds):
        case = lifecycle.open_escalation(
            ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
        )
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            results = list(
                pool.map(
                    lambda actor, case=case, barrier=barrier: _press_escalate(
                        ctx, case.reference, case.version, actor, barrier
                    ),
                    [TEACHER, TEACHER],
                )
            )
        winners = [r for r in results if not isinstance(r, Refused)]
        losers = [r for r in results if isinstance(r, Refused)]
        assert len(winners) == 1 and len(losers) == 1
        assert losers[0].reason == "stale"
        assert winners[0].current_stage == 2

    with ctx.db.transaction() as session:
        stages = session.exec(select(StageRecord)).all()
        escalated = session.exec(select(AuditEvent).where(AuditEvent.action == "escalate")).all()
        told = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "stage_started")).all()
    assert len(stages) == rounds * 2  # one Stage 1 and one Stage 2 per case, never a second Stage 2
    assert len(escalated) == rounds
    assert len(told) == rounds  # the raising side's Stage 2 holder, told once


def test_simultaneous_openings_get_distinct_references(ctx):
    barrier = threading.Barrier(6)

    def open_one(_):
        barrier.wait()
        return lifecycle.open_escalation(
            ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
        ).reference

    with ThreadPoolExecutor(6) as pool:
        references = list(pool.map(open_one, range(6)))
    assert sorted(references) == [f"ESC-2026-{n:04d}" for n in range(1, 7)]


def test_the_version_compare_and_set_refuses_a_write_on_a_case_changed_after_it_was_read(ctx):
    """On databases without SQLite's write lock, another writer can commit between read and write."""
    from flows.escalations import _Change

    case = lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)
    with ctx.db.transaction() as session:
        change = _Change(ctx, session, case.reference, TEACHER, "escalate", case.version)
        # Someone else's change lands after this one read the case.
        # (Plain SQL, so the ORM's loaded copy keeps the version it read.)
        session.execute(text("UPDATE escalation SET version = version + 1 WHERE id = :id"), {"id": case.id})
        try:
            change.bump_version(current_stage=2)
        except Refused as refused:
            assert refused.reason == "stale"
        else:
            raise AssertionError("a write on a changed case went through")
