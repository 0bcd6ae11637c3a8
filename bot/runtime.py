"""Wires the engine, storage, Slack and the outbox into one running bot. Nothing starts at import."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator

from bot.email.sender import EmailSender, SmtpSettings
from bot.outbox import ByChannel, Outbox
from bot.scheduler import DueWork, start_scheduler
from bot.settings import Settings
from bot.slack.app import build_app, build_client
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

log = logging.getLogger(__name__)


@dataclass
class SlackBot:
    ctx: Context
    app: AsyncApp
    outbox: Outbox
    directory: SlackDirectory


def build_slack_bot(
    settings: Settings,
    policy: Policy,
    clock: Clock | None = None,
    retry_interval: RetryIntervalCalculator | None = None,
) -> SlackBot:
    database = Database(settings.database_url)
    upgrade(database)  # safe to run again: applies only what is missing
    ctx = Context(db=database, policy=policy, clock=clock or SystemClock(), email_enabled=settings.email_enabled)
    client = build_client(settings.slack_bot_token, settings.api_url, retry_interval)
    directory = SlackDirectory(
        client,
        ctx,
        settings.cscp_member_ids,
        settings.cscp_usergroup_id,
        settings.cscp_executive_ids,
        settings.cscp_scrutineer.strip(),
    )
    home = AppHome(ctx, client, directory)
    sender = SlackSender(ctx, client, settings.cscp_channel_id, home)
    if settings.email_enabled:
        # People named only by e-mail are e-mailed; everything else goes to Slack as before.
        sender = ByChannel(
            sender,
            {
                EMAIL_PLATFORM: EmailSender(
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
            },
        )
    outbox = Outbox(ctx, sender, instance_id=settings.instance_name)
    services = SlackServices(ctx=ctx, directory=directory, outbox=outbox, home=home)
    app = build_app(client, settings.slack_signing_secret, services)
    return SlackBot(ctx=ctx, app=app, outbox=outbox, directory=directory)


async def serve(bot: SlackBot, settings: Settings) -> None:
    await bot.directory.refresh_partnership()
    delivery = asyncio.create_task(bot.outbox.run_forever(), name="outbox")
    scheduler = start_scheduler(DueWork(bot.ctx, bot.outbox))
    # Membership of the CSCP user group can change while the bot runs.
    scheduler.add_job(
        bot.directory.refresh_partnership,
        "interval",
        minutes=10,
        id="partnership-members",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token)
            log.info("connecting to Slack by Socket Mode")
            await handler.start_async()
        else:
            runner = web.AppRunner(web_app(bot.app, settings.slack_signing_secret))
            await runner.setup()
            await web.TCPSite(runner, port=settings.port_number).start()
            log.info("listening for Slack on http://0.0.0.0:%s/slack/events", settings.port_number)
            await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
        delivery.cancel()


def run_slack_bot(settings: Settings, policy: Policy, clock: Clock | None = None) -> None:
    bot = build_slack_bot(settings, policy, clock)
    try:
        asyncio.run(serve(bot, settings))
    except KeyboardInterrupt:
        pass
