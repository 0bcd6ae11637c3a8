"""Wires the engine, storage, the front-ends (Slack, Teams, or both) and the outbox into one running bot.
Nothing starts at import."""

from __future__ import annotations

import asyncio
import logging
import socket
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator

from bot.email.sender import EmailSender, SmtpSettings
from bot.outbox import ByChannel, Outbox, Sender
from bot.pacing import NoPacing, Pacer
from bot.scheduler import DueWork, start_scheduler
from bot.settings import Settings
from bot.slack.app import build_app, build_client
from bot.slack.delivery import PLATFORM as SLACK
from bot.slack.delivery import SlackSender
from bot.slack.directory import SlackDirectory
from bot.slack.home import AppHome
from bot.slack.http import web_app
from bot.slack.services import SlackServices
from flows.clock import Clock, SystemClock
from flows.context import Context
from flows.people import EMAIL_PLATFORM
from flows.policy import Policy
from storage.db import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from bot.teams.bot import TeamsBot

log = logging.getLogger(__name__)
TEAMS = "teams"


class PortUnavailable(Exception):
    """The port to listen on is taken (or not ours to take): found before anything else starts."""

    def __init__(self, port: int, error: OSError):
        super().__init__(f"port {port}: {error.strerror or error}")
        self.port, self.error = port, error


def listening_socket(port: int, host: str = "0.0.0.0") -> socket.socket:
    """The port, bound and listening, or PortUnavailable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise PortUnavailable(port, error) from None
    return sock


@dataclass
class SlackBot:
    ctx: Context
    app: AsyncApp
    outbox: Outbox
    directory: SlackDirectory


@dataclass
class Bot:
    """One running bot: the engine, its outbox, and each front-end configured (None where not)."""

    ctx: Context
    outbox: Outbox
    web: web.Application  # the one aiohttp application every HTTP front-end is served on
    slack: SlackBot | None
    teams: TeamsBot | None


def build_bot(
    settings: Settings,
    policy: Policy,
    clock: Clock | None = None,
    *,
    slack: bool | None = None,
    teams: bool | None = None,
    retry_interval: RetryIntervalCalculator | None = None,
    teams_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    pacer: Pacer | None = None,
    outbox_wait: Callable[[asyncio.Event, float], Awaitable[None]] | None = None,
) -> Bot:
    """The front-ends the settings configure (or those asked for). `pacer` spaces the outbox's calls to the
    platforms' rate limits (tests inject one that never really waits)."""
    pacer = pacer or (Pacer() if settings.slack_pacing else NoPacing())
    slack = settings.slack_enabled if slack is None else slack
    teams = settings.teams_enabled if teams is None else teams
    database = Database(settings.database_url)
    upgrade(database)  # safe to run again: applies only what is missing
    ctx = Context(db=database, policy=policy, clock=clock or SystemClock(), email_enabled=settings.email_enabled)
    application = web.Application()
    senders: dict[str, Sender] = {}
    if slack:
        client = build_client(settings.slack_bot_token, settings.api_url, retry_interval)
        directory = SlackDirectory(
            client,
            ctx,
            settings.cscp_member_ids,
            settings.cscp_usergroup_id,
            settings.cscp_executive_ids,
            settings.cscp_scrutineer.strip(),
        )
        home = AppHome(ctx, client, directory, pacer)
        senders[SLACK] = SlackSender(ctx, client, settings.cscp_channel_id, home, pacer)
    teams_bot = None
    if teams:
        with warnings.catch_warnings():
            # The SDK warns, as it is imported, that a feature the bot does not use (HTML widgets) is in preview.
            warnings.filterwarnings("ignore", message="HtmlWidgetSecurityPolicy is in preview")
            from bot.teams.bot import build_teams_bot  # the Teams SDK is imported only when Teams is configured

        teams_bot = build_teams_bot(settings, ctx, application, sleep=teams_sleep)
        senders[TEAMS] = teams_bot.sender
    if settings.email_enabled:
        # People named only by e-mail are e-mailed.
        senders[EMAIL_PLATFORM] = EmailSender(
            ctx,
            SmtpSettings(
                host=settings.smtp_host,
                port=int(settings.smtp_port),
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                mail_from=settings.mail_from,
            ),
        )
    # The partnership's channel and every copy of the cards go to every chat platform configured.
    default = senders.get(SLACK) or senders[TEAMS]
    shared = [senders[p] for p in (TEAMS, SLACK) if p in senders]
    waits = {"idle_wait": outbox_wait} if outbox_wait else {}
    outbox = Outbox(ctx, ByChannel(default, senders, shared), instance_id=settings.instance_name, **waits)
    slack_bot = None
    if slack:
        services = SlackServices(ctx=ctx, directory=directory, outbox=outbox, home=home)
        app = build_app(client, settings.slack_signing_secret, services)
        slack_bot = SlackBot(ctx=ctx, app=app, outbox=outbox, directory=directory)
    if teams_bot is not None:
        teams_bot.register(outbox)
    return Bot(ctx=ctx, outbox=outbox, web=application, slack=slack_bot, teams=teams_bot)


def build_slack_bot(
    settings: Settings,
    policy: Policy,
    clock: Clock | None = None,
    retry_interval: RetryIntervalCalculator | None = None,
    pacer: Pacer | None = None,
    outbox_wait: Callable[[asyncio.Event, float], Awaitable[None]] | None = None,
) -> SlackBot:
    """Slack alone (the sandbox and the Slack tests)."""
    return build_bot(
        settings,
        policy,
        clock,
        slack=True,
        teams=False,
        retry_interval=retry_interval,
        pacer=pacer,
        outbox_wait=outbox_wait,
    ).slack


def _listens(settings: Settings) -> bool:
    """Whether the configured front-ends take HTTP requests (Teams always; Slack unless by Socket Mode)."""
    return settings.teams_enabled or (settings.slack_enabled and not settings.socket_mode)


async def serve(bot: Bot, settings: Settings, sock: socket.socket | None = None) -> None:
    if sock is None and _listens(settings):
        sock = listening_socket(settings.port_number)
    if bot.teams is not None:
        await bot.teams.mount()
    refreshes = [side.refresh_partnership for side in (bot.slack and bot.slack.directory, bot.teams) if side]
    for refresh in refreshes:
        await refresh()
    delivery = asyncio.create_task(bot.outbox.run_forever(), name="outbox")
    scheduler = start_scheduler(DueWork(bot.ctx, bot.outbox))
    for number, refresh in enumerate(refreshes):
        # Membership of the CSCP user group, or of its Teams team, can change while the bot runs.
        scheduler.add_job(
            refresh,
            "interval",
            minutes=10,
            id=f"partnership-members-{number}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
    runner = None
    try:
        waits: list[Awaitable] = []
        if bot.slack is not None and settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            log.info("connecting to Slack by Socket Mode")
            waits.append(AsyncSocketModeHandler(bot.slack.app, settings.slack_app_token).start_async())
        elif bot.slack is not None:
            web_app(bot.slack.app, settings.slack_signing_secret, application=bot.web)
        if sock is not None:
            runner = web.AppRunner(bot.web)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            if bot.slack is not None and not settings.socket_mode:
                log.info("listening for Slack on http://0.0.0.0:%s/slack/events", settings.port_number)
            if bot.teams is not None:
                log.info("listening for Teams on http://0.0.0.0:%s/api/messages", settings.port_number)
            waits.append(asyncio.Event().wait())
        await asyncio.gather(*waits)
    finally:
        scheduler.shutdown(wait=False)
        delivery.cancel()
        if runner is not None:
            await runner.cleanup()


def run_bot(settings: Settings, policy: Policy, clock: Clock | None = None) -> None:
    # Before anything starts (the database, the front-ends): a busy port stops the bot here, having done nothing.
    sock = listening_socket(settings.port_number) if _listens(settings) else None
    bot = build_bot(settings, policy, clock)
    try:
        asyncio.run(serve(bot, settings, sock))
    except KeyboardInterrupt:
        pass
