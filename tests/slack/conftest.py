from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.email.inbox import Inbox
from bot.pacing import Pacer
from bot.runtime import build_slack_bot
from bot.settings import Settings
from bot.slack.http import web_app
from bot.standin.server import SlackStandin, StandinUser
from flows.clock import ManualClock
from flows.policy import load_policy
from tests.conftest import WED_1_APRIL_2026
from tests.slack.harness import SIGNING_SECRET, FakeSlackClient

ROOT = Path(__file__).resolve().parents[2]
CSCP_CHANNEL = "C0CSCP"

# The workspace: (Slack user id, name, email).
PEOPLE = {
    "teacher": StandinUser("U0TEACHER", "Tess Teacher", "tess@school.example"),
    "mash": StandinUser("U0MASH", "Sam Social", "sam@mash.example"),
    "head": StandinUser("U0HEAD", "Hari Head", "hari@school.example"),
    "mash_manager": StandinUser("U0MASHMGR", "Mo Manager", "mo@mash.example"),
    "service_manager": StandinUser("U0SERVICE", "Sue Service", "sue@croydon.example"),
    "mash_service": StandinUser("U0MASHSM", "Mia Service", "mia@mash.example"),
    "director": StandinUser("U0DIRECTOR", "Dee Director", "dee@croydon.example"),
    "mash_director": StandinUser("U0MASHDIR", "Max Director", "max@mash.example"),
    "executive": StandinUser("U0EXEC", "Eve Executive", "eve@cscp.example"),
    "scrutineer": StandinUser("U0SCRUT", "Ian Scrutineer", "ian@cscp.example"),
    "cscp": StandinUser("U0CSCP", "Cat CSCP", "cat@cscp.example"),
    "stranger": StandinUser("U0STRANGER", "Stan Stranger", "stan@else.example"),
}


def manifest_scopes() -> set[str]:
    manifest = yaml.safe_load((ROOT / "app_manifest.yml").read_text())
    return set(manifest["oauth_config"]["scopes"]["bot"])


async def _serve(application: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


class Running:
    """The bot, its stand-in Slack and the fake Slack client, all on 127.0.0.1."""

    def __init__(self, bot, standin, slack, clock, runners, worker):
        self.bot, self.standin, self.slack, self.clock = bot, standin, slack, clock
        self._runners, self._worker = runners, worker
        self.inbox = None

    @property
    def ctx(self):
        return self.bot.ctx

    async def deliver(self):
        await self.bot.outbox.drain()

    def dms(self, person: str) -> list:
        return self.standin.messages_in(self.standin.dm_channel(PEOPLE[person].id))

    def cscp_posts(self):
        return self.standin.messages_in(CSCP_CHANNEL, top_level=True)

    async def stop(self):
        if self._worker is not None:
            self._worker.cancel()
        if self.inbox is not None:
            await self.inbox.stop()
        await self.slack.close()
        for runner in self._runners:
            await runner.cleanup()
        self.bot.ctx.db.dispose()


async def start_running(database_url: str, inbox: Inbox | None = None, pacer: Pacer | None = None) -> Running:
    """The bot against the stand-in; with `inbox`, e-mail on, sent by SMTP to that server on 127.0.0.1."""
    clock = ManualClock(WED_1_APRIL_2026)
    standin = SlackStandin(scopes=manifest_scopes(), users=list(PEOPLE.values()), wall=lambda: clock.now().timestamp())
    standin.channels[CSCP_CHANNEL] = "private"
    standin_runner, standin_port = await _serve(standin.app())
    mail = {}
    if inbox is not None:
        mail = dict(
            smtp_host="127.0.0.1",
            smtp_port=str(await inbox.start()),
            smtp_starttls=False,
            mail_from="escalations@cscp.example",
        )
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-standin",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{standin_port}/api/",
        database_url=database_url,
        cscp_channel_id=CSCP_CHANNEL,
        cscp_members=PEOPLE["cscp"].id,
        cscp_executive=PEOPLE["executive"].id,
        cscp_scrutineer=PEOPLE["scrutineer"].id,
        **mail,
    )
    paced: list[float] = []  # each wait the outbox's pacing asked for, never really waited

    async def no_waiting(seconds: float) -> None:
        paced.append(seconds)

    bot = build_slack_bot(
        settings,
        load_policy(),
        clock=clock,
        retry_interval=FixedValueRetryIntervalCalculator(0),
        pacer=pacer or Pacer(sleep=no_waiting),
    )
    await bot.directory.refresh_partnership()
    bot_runner, bot_port = await _serve(web_app(bot.app, SIGNING_SECRET))
    worker = asyncio.create_task(bot.outbox.run_forever())
    slack = FakeSlackClient(f"http://127.0.0.1:{bot_port}/slack/events", standin)
    env = Running(bot, standin, slack, clock, [bot_runner, standin_runner], worker)
    env.inbox, env.paced = inbox, paced
    return env


@pytest.fixture
async def running(database_url):
    env = await start_running(database_url)
    yield env
    await env.stop()


@pytest.fixture
async def running_with_email(database_url):
    """The bot with e-mail on; `env.inbox` is the SMTP server on 127.0.0.1 and what arrived there."""
    env = await start_running(database_url, Inbox())
    yield env
    await env.stop()
