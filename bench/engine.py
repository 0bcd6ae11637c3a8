"""Benchmark of the engine on a SQLite file: how long opening, escalating, the reminder job and the
digest take as cases grow, and the peak resident memory. Run: .venv/bin/python bench/engine.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import escalations as lifecycle  # noqa: E402
from flows.clock import ManualClock  # noqa: E402
from flows.context import Context  # noqa: E402
from flows.digest import build_digest  # noqa: E402
from flows.escalations import EscalationForm  # noqa: E402
from flows.people import PersonRef  # noqa: E402
from flows.policy import load_policy  # noqa: E402
from flows.reminders import send_due_reminders  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

UTC = UTC


def form(i: int) -> EscalationForm:
    return EscalationForm(
        child_initials="AB",
        child_case_reference=f"REF-{i}",
        level_of_need="Child in Need",
        raiser_role="DSL",
        raiser_agency="School or college",
        other_agency="Children's Social Care (MASH)",
        themes=["Information sharing"],
        key_dates="k",
        evidence_of_need="e",
        decision_disagreed="d",
        interventions_to_date="i",
        outcome_wanted="o",
        professionals=[PersonRef("slack", f"UMASH{i % 20}", "MASH worker", "")],
    )


def timed(label: str, count: int, function) -> None:
    start = time.perf_counter()
    function()
    elapsed = time.perf_counter() - start
    print(f"{label:<38} {elapsed * 1000:9.1f} ms total  {elapsed * 1000 / max(count, 1):7.2f} ms each ({count})")


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.db")
        upgrade(database)
        clock = ManualClock(datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
        ctx = Context(db=database, policy=load_policy(), clock=clock)
        raiser = PersonRef("slack", "UTEACHER", "Teacher", "t@example")
        cases = []
        timed(
            "open_escalation",
            n,
            lambda: cases.extend(
                lifecycle.open_escalation(
                    ctx, raiser, form(i), child_at_immediate_risk=False, discussed_with_manager=True
                )
                for i in range(n)
            ),
        )
        timed(
            "escalate to Stage 2",
            n,
            lambda: [
                lifecycle.escalate(
                    ctx,
                    c.reference,
                    raiser,
                    version=c.version,
                    reason="r",
                    next_holders=[PersonRef("slack", "UHEAD", "Head", "")],
                )
                for c in cases
            ],
        )
        clock.set(datetime(2026, 4, 14, 9, 0, tzinfo=UTC))
        timed("reminder job, all due", 1, lambda: send_due_reminders(ctx))
        timed("reminder job, nothing left to send", 1, lambda: send_due_reminders(ctx))
        timed("weekly digest", 1, lambda: build_digest(ctx, clock.now(), clock.now()))
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak resident memory of the process: {peak_kb / 1024:.0f} MB for {n} cases")
        database.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
