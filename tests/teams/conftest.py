"""The bot with Teams on, against the stand-in Teams on 127.0.0.1: its real aiohttp server, real tokens."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.runtime import build_bot
from bot.settings import Settings
from bot.standin.teams import TeamsStandin, TeamsUser
from bot.standin.teams_client import TeamsSide
from flows.clock import ManualClock
from flows.policy import load_policy
from tests.conftest import WED_1_APRIL_2026

APP_ID = "00000000-0000-4000-8000-00000000b07a"
APP_PASSWORD = "standin-client-secret"
TENANT_ID = "11111111-1111-4111-8111-111111111111"
CSCP_CHANNEL = "19:cscp-escalations@thread.tacv2"

PEOPLE = {
    "teacher": TeamsUser("aad-teacher", "Tess Teacher", "tess@school.example"),
    "mash": TeamsUser("aad-mash", "Sam Social", "sam@mash.example"),
    "gp": TeamsUser("aad-gp", "Gita Rao", "gita.rao@nhs.example"),
    # MASH's managers, in Teams (the school's are in Slack: tests/teams/test_with_slack.py).
    "mash_manager": TeamsUser("aad-mash-manager", "Mo Manager", "mo@mash.example"),
    "mash_service": TeamsUser("aad-mash-service", "Mia Service", "mia@mash.example"),
    "mash_director": TeamsUser("aad-mash-director", "Max Director", "max@mash.example"),
}


def teams_settings(standin: TeamsStandin, database_url: str, **more) -> Settings:
    return Settings(
        _env_file=None,
        teams_app_id=APP_ID,
        teams_app_password=APP_PASSWORD,
        teams_tenant_id=TENANT_ID,
        teams_openid_metadata_url=standin.openid_metadata_url,
        teams_login_url=standin.login_url,
        teams_service_url=standin.service_url,
        teams_cscp_conversation_id=CSCP_CHANNEL,
        database_url=database_url,
        **more,
    )


@pytest.fixture
def standin(monkeypatch):
    standin = TeamsStandin(APP_ID, APP_PASSWORD, TENANT_ID, list(PEOPLE.values())).start()
    standin.add_channel(CSCP_CHANNEL)
    # MSAL speaks only HTTPS to a login service: it is told to trust the stand-in's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_file)
    yield standin
    standin.stop()


class Running:
    def __init__(self, bot, standin, teams, clock, runner):
        self.bot, self.standin, self.teams, self.clock, self._runner = bot, standin, teams, clock, runner
        self.sleeps: list[float] = []

    @property
    def ctx(self):
        return self.bot.ctx

    async def stop(self):
        await self.teams.close()
        await self._runner.cleanup()
        self.bot.ctx.db.dispose()


@pytest.fixture
async def running(standin, database_url):
    clock = ManualClock(WED_1_APRIL_2026)
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:  # the SDK client's retries wait on this: tests never sleep
        sleeps.append(seconds)

    settings = teams_settings(standin, database_url)
    bot = build_bot(settings, load_policy(), clock, teams_sleep=no_sleep)
    await bot.teams.mount()
    runner = web.AppRunner(bot.web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    env = Running(bot, standin, TeamsSide(f"http://127.0.0.1:{port}/api/messages", standin), clock, runner)
    env.sleeps = sleeps
    yield env
    await env.stop()
