"""The Teams front-end put together: the SDK's App on our aiohttp application, its sender and its handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from microsoft_teams.apps import App

from bot.outbox import Outbox
from bot.teams import listeners
from bot.teams.app import build_app
from bot.teams.delivery import TeamsSender
from bot.teams.directory import TeamsDirectory
from bot.teams.http import MESSAGING_ENDPOINT, AiohttpAdapter
from bot.teams.services import TeamsServices
from flows.context import Context


@dataclass
class TeamsBot:
    app: App
    sender: TeamsSender
    directory: TeamsDirectory

    def register(self, outbox: Outbox) -> None:
        """The handlers, once the outbox they wake exists."""
        services = TeamsServices(
            ctx=self.sender.ctx,
            directory=self.directory,
            outbox=outbox,
            partnership_channel=self.sender.partnership_channel,
        )
        listeners.register(self.app, services)

    async def refresh_partnership(self) -> None:
        await self.directory.refresh_partnership(self.app.api)

    async def mount(self) -> None:
        """Serve POST /api/messages on the application given to build_teams_bot: before that application starts."""
        await self.app.initialize()


def build_teams_bot(
    settings,
    ctx: Context,
    application: web.Application,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TeamsBot:
    app = build_app(
        app_id=settings.teams_app_id,
        password=settings.teams_app_password,
        tenant_id=settings.teams_tenant_id,
        openid_metadata_url=settings.teams_openid_metadata_url,
        login_url=settings.teams_login_url,
        service_url=settings.teams_service_url,
        adapter=AiohttpAdapter(application),
        sleep=sleep,
    )
    return TeamsBot(
        app=app,
        sender=TeamsSender(ctx, app, settings.teams_tenant_id, settings.teams_cscp_conversation_id),
        directory=TeamsDirectory(ctx, settings.teams_cscp_member_ids, settings.teams_cscp_conversation_id),
    )


__all__ = ["MESSAGING_ENDPOINT", "TeamsBot", "build_teams_bot"]
