"""App Home: published when a person opens it, and again when a case they can see changes."""
from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import messages
from bot.slack.directory import PLATFORM, SlackDirectory
from flows.context import Context
from flows.queries import failed_deliveries, my_open_cases, partnership_open_cases
from flows.records import CaseView


class AppHome:
    def __init__(self, ctx: Context, client: AsyncWebClient, directory: SlackDirectory):
        self.ctx, self.client, self.directory = ctx, client, directory
        # People who have opened App Home since the bot started: theirs is kept current.
        self.viewers: set[str] = set()

    async def publish(self, user_id: str) -> None:
        self.viewers.add(user_id)
        person = await self.directory.person(user_id)
        mine = await asyncio.to_thread(my_open_cases, self.ctx, person)
        partnership, failures = None, []
        if self.ctx.is_partnership_member(person):
            partnership = await asyncio.to_thread(partnership_open_cases, self.ctx)
            failures = await asyncio.to_thread(failed_deliveries, self.ctx)
        await self.client.views_publish(user_id=user_id,
                                        view=messages.home_view(mine, self.ctx.clock.now(), partnership, failures))

    async def refresh_for(self, case: CaseView) -> None:
        """Republish the Home of everyone who can see `case` and has App Home open."""
        people = [case.raiser, *case.professionals, *(h for s in case.stages for h in s.holders)]
        users = {p.user_id for p in people if p.platform == PLATFORM}
        if case.partnership_informed:
            users |= {user for platform, user in self.ctx.partnership_members if platform == PLATFORM}
        for user_id in sorted(users & self.viewers):
            await self.publish(user_id)
