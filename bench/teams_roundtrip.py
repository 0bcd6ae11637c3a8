"""Benchmark of the Teams front-end over real HTTP on 127.0.0.1: the bot's aiohttp server with the Teams SDK,
the stand-in Teams (its own thread) and activities signed as the Bot Framework signs them. Reports, at 10 and
50 conversations at once, the time from an incoming message to the bot's reply arriving at the stand-in.
Run: .venv/bin/python bench/teams_roundtrip.py [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web  # noqa: E402

from bot.runtime import build_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.standin.teams import TeamsStandin, TeamsUser  # noqa: E402
from bot.standin.teams_client import TeamsSide  # noqa: E402
from flows.clock import ManualClock  # noqa: E402
from flows.policy import load_policy  # noqa: E402

APP_ID = "00000000-0000-4000-8000-00000000b07a"
TENANT_ID = "11111111-1111-4111-8111-111111111111"


def summary(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{label:<46} median {statistics.median(ms):7.1f} ms   p99 {p99:7.1f} ms   ({len(ms)} messages)")


async def round_trip(teams: TeamsSide, standin: TeamsStandin, user: TeamsUser, text: str) -> float:
    before = len(standin.sent_to_user(user))
    start = time.perf_counter()
    reply = await teams.say(user, text)
    assert reply.status == 200, reply
    sent = standin.sent_to_user(user)
    assert len(sent) == before + 1
    return sent[-1].at - start


async def main(rounds: int) -> None:
    users = [TeamsUser(f"aad-bench-{n}", f"Person {n}", f"person{n}@school.example") for n in range(50)]
    standin = TeamsStandin(APP_ID, "secret", TENANT_ID, users).start()
    os.environ["REQUESTS_CA_BUNDLE"] = standin.ca_file
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            teams_app_id=APP_ID,
            teams_app_password="secret",
            teams_tenant_id=TENANT_ID,
            teams_openid_metadata_url=standin.openid_metadata_url,
            teams_login_url=standin.login_url,
            teams_service_url=standin.service_url,
            database_url=f"sqlite:///{folder}/bench.db",
        )
        bot = build_bot(settings, load_policy(), ManualClock(datetime(2026, 4, 1, 9, 0, tzinfo=UTC)))
        await bot.teams.mount()
        runner = web.AppRunner(bot.web)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        teams = TeamsSide(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api/messages", standin)
        for user in users:  # installed, and known to the bot (its first message reads the member record)
            await teams.install(user)
        for concurrent in (10, 50):
            for text in ("hello", "list"):
                timings: list[float] = []
                for _ in range(rounds):
                    timings += await asyncio.gather(
                        *(round_trip(teams, standin, user, text) for user in users[:concurrent])
                    )
                summary(f'"{text}" to reply, {concurrent} conversations at once', timings)
        await teams.close()
        await runner.cleanup()
        bot.ctx.db.dispose()
    standin.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
