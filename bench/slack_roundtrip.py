"""Benchmark of the Slack front-end over real HTTP on 127.0.0.1: the bot, the stand-in Slack and
signed requests, as in the sandbox. Reports latency of /escalate (until the modal is open) and of
raising a whole escalation (gate, form, direct messages delivered).
Run: .venv/bin/python bench/slack_roundtrip.py [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.sandbox.server import start_sandbox  # noqa: E402
from bot.sandbox.workspace import PEOPLE  # noqa: E402
from flows.policy import load_policy  # noqa: E402

FORM = {
    "child_initials": "AB",
    "child_case_reference": "REF-1",
    "level_of_need": "Child in Need",
    "raiser_role": "DSL",
    "raiser_agency": "School or college",
    "other_agency": "Children's Social Care (MASH)",
    "professionals": [next(p.id for p in PEOPLE if p.name == "Maria Costa")],  # Children's Social Care, in Slack
    "themes": ["Information sharing"],
    "key_dates": "k",
    "evidence_of_need": "e",
    "decision_disagreed": "d",
    "interventions_to_date": "i",
    "outcome_wanted": "o",
}


def summary(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(
        f"{label:<40} median {statistics.median(ms):7.1f} ms   p90 {ms[int(len(ms) * 0.9) - 1]:7.1f} ms"
        f"   ({len(ms)} runs)"
    )


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        sandbox = await start_sandbox(
            load_policy(), f"sqlite:///{folder}/bench.db", port=0, start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
        )
        user = PEOPLE[0].id
        opened, raised = [], []
        for _ in range(n):
            start = time.perf_counter()
            await sandbox.slack.command(user)
            opened.append(time.perf_counter() - start)
            start = time.perf_counter()
            await sandbox.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "yes"})
            await sandbox.slack.submit(user, FORM)
            await sandbox.bot.outbox.drain()
            raised.append(time.perf_counter() - start)
        summary("/escalate until the modal is open", opened)
        summary("raise an escalation, messages delivered", raised)
        await sandbox.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
