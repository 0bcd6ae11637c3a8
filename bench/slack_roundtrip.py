"""Benchmark of the Slack front-end over real HTTP on 127.0.0.1: the bot, the stand-in Slack and
signed requests, as in the sandbox. Reports latency of /escalate (until the modal is open) and of
raising a whole escalation (gate, form, direct messages delivered); then the acknowledgement of 50
/escalate requests sent at once, to the bot and, in the same run, to a bare Bolt app (the same aiohttp
server setup, a handler that only acks and opens a fixed view), and both p99s (target: the bot's within
1.5 times the bare app's). The bare app opens the same gate modal, fixed.
Run: .venv/bin/python bench/slack_roundtrip.py [N]
`measure({"sqlite": url, "postgresql": url})` gives the ack comparison as rows, for bench/targets.py.
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

from slack_bolt.async_app import AsyncApp  # noqa: E402

from bot.sandbox.server import start_sandbox  # noqa: E402
from bot.sandbox.workspace import PEOPLE  # noqa: E402
from bot.slack import messages  # noqa: E402
from bot.slack.app import build_client  # noqa: E402
from bot.slack.http import web_app  # noqa: E402
from bot.standin.client import SlackSide  # noqa: E402
from flows import forms  # noqa: E402
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
    bot_p99, bare_p99 = await ack_p99s("sqlite:///{folder}/acks.db")
    print(f"{'/escalate ack p99, 50 at once: the bot':<40} {bot_p99:7.1f} ms")
    print(f"{'/escalate ack p99, 50 at once: bare Bolt':<40} {bare_p99:7.1f} ms   ratio {bot_p99 / bare_p99:.2f}")


CONCURRENT = 50
ROUNDS = 6  # rounds of 50 at once: 300 acknowledgements each
# The bare app opens the same modal as the bot, built once: the stand-in (in this process) checks every view it
# is sent, so a smaller one would leave the bare app more of the machine.
FIXED_VIEW = messages.form_view(forms.gate_form())


def p99(seconds: list[float]) -> float:
    ms = sorted(s * 1000 for s in seconds)
    return ms[max(0, int(len(ms) * 0.99) - 1)]


async def _serve(application):
    from aiohttp import web

    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def acks(side: SlackSide, user: str) -> list[float]:
    async def one() -> float:
        started = time.perf_counter()
        reply = await side.send_command(side.command_fields(user, ""))
        assert reply.status == 200, reply
        return time.perf_counter() - started

    times = []
    for _ in range(ROUNDS):
        times += await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    return times


async def ack_p99s(database_url: str) -> tuple[float, float]:
    """p99 of the acknowledgement (ms) of /escalate sent 50 at once: the bot's, and a bare Bolt app's."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url.replace("{folder}", folder)
        sandbox = await start_sandbox(load_policy(), url, port=0, start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
        standin, secret = sandbox.standin, sandbox.slack.secret
        bare = AsyncApp(
            client=build_client(standin.token_expected, sandbox.bot.slack.app.client.base_url), signing_secret=secret
        )

        @bare.command("/escalate")
        async def just_ack(ack, command, client):
            await ack()
            await client.views_open(trigger_id=command["trigger_id"], view=FIXED_VIEW)

        runner, port = await _serve(web_app(bare, secret))
        bare_side = SlackSide(f"http://127.0.0.1:{port}/slack/events", standin, secret)
        user = PEOPLE[0].id
        try:
            await acks(sandbox.slack, user), await acks(bare_side, user)  # warm both up
            bot_times, bare_times = [], []
            for _ in range(2):  # interleaved, so neither has the quieter machine
                bot_times += await acks(sandbox.slack, user)
                bare_times += await acks(bare_side, user)
            return p99(bot_times), p99(bare_times)
        finally:
            await bare_side.close()
            await runner.cleanup()
            await sandbox.stop()


def measure(database_urls: dict[str, str]) -> list[dict]:
    """One row: the bot's /escalate acknowledgement p99 against a bare Bolt app's, on each database."""
    figures = {name: asyncio.run(ack_p99s(url)) for name, url in database_urls.items()}

    def shown(name: str) -> str:
        if name not in figures:
            return "-"
        ours, bare = figures[name]
        return f"{ours:.1f} ms vs {bare:.1f} ms ({ours / bare:.2f}x)"

    return [
        {
            "target": "/escalate ack p99, 50 at once, within 1.5x a bare Bolt app's",
            "sqlite": shown("sqlite"),
            "postgresql": shown("postgresql"),
            "met": all(ours <= 1.5 * bare for ours, bare in figures.values()),
        }
    ]


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
