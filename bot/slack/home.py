"""App Home: published when a person opens it, and again when a case they can see changes."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import messages
from bot.slack.directory import PLATFORM, SlackDirectory
from flows.context import Context
from flows.homes import remember_viewer, viewer_filter, viewers_among
from flows.persons import email_copies
from flows.queries import CaseFilter, failed_deliveries, my_cases, partnership_open_cases
from flows.records import CaseView


class AppHome:
    def __init__(self, ctx: Context, client: AsyncWebClient, directory: SlackDirectory):
        self.ctx, self.client, self.directory = ctx, client, directory

    async def publish(self, user_id: str, case_filter: CaseFilter | None = None) -> None:
        # Whoever has opened App Home, on any instance, is kept current, with the filters they chose.
        case_filter = case_filter or await asyncio.to_thread(viewer_filter, self.ctx, PLATFORM, user_id) or CaseFilter()
        await asyncio.to_thread(remember_viewer, self.ctx, PLATFORM, user_id, case_filter)
        person = await self.directory.person(user_id)
        mine = await asyncio.to_thread(my_cases, self.ctx, person)
        partnership, failures = None, []
        if self.ctx.is_partnership_member(person):
            partnership = await asyncio.to_thread(partnership_open_cases, self.ctx, person, case_filter)
            failures = await asyncio.to_thread(failed_deliveries, self.ctx)
        copies = await asyncio.to_thread(email_copies, self.ctx, person)
        view = messages.home_view(
            mine, self.ctx.clock.now(), partnership, failures, self.ctx.policy, case_filter, email_copies=copies
        )
        await self.client.views_publish(user_id=user_id, view=view)

    async def refresh_for(self, case: CaseView) -> None:
        """Republish the Home of everyone who can see `case` and has App Home open."""
        users = {p.user_id for p in case.people() if p.platform == PLATFORM}
        if case.partnership_informed:
            users |= {user for platform, user in self.ctx.partnership_members if platform == PLATFORM}
        for user_id in await asyncio.to_thread(viewers_among, self.ctx, PLATFORM, users):
            await self.publish(user_id)
