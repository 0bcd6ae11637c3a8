"""App Home: published when a person opens it, and again when a case they can see changes."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import Limit, Pacer
from bot.slack import messages
from bot.slack.directory import PLATFORM, SlackDirectory
from flows.context import Context
from flows.homes import home_said, remember_home_said, remember_viewer, viewer_filter, viewers_among
from flows.persons import email_copies
from flows.posts import content_hash
from flows.queries import CaseFilter, failed_deliveries, my_cases, partnership_open_cases
from flows.records import CaseView

# views.publish is Tier 4 (100+ a minute per workspace): a minute's allowance at once, then spaced.
PUBLISH_LIMIT = Limit.per_minute(100)


class AppHome:
    def __init__(self, ctx: Context, client: AsyncWebClient, directory: SlackDirectory, pacer: Pacer | None = None):
        self.ctx, self.client, self.directory = ctx, client, directory
        self.pacer = pacer or Pacer()

    async def publish(self, user_id: str, case_filter: CaseFilter | None = None, *, unchanged_too: bool = True) -> None:
        """Publish `user_id`'s App Home; with unchanged_too=False (a case changed) only if it would say
        something new: Slack keeps the view last published."""
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
        said = content_hash(view)
        if not unchanged_too and said == await asyncio.to_thread(home_said, self.ctx, PLATFORM, user_id):
            return
        await self.pacer.wait(("views.publish",), PUBLISH_LIMIT)
        await self.client.views_publish(user_id=user_id, view=view)
        await asyncio.to_thread(remember_home_said, self.ctx, PLATFORM, user_id, said)

    async def refresh_for(self, case: CaseView) -> None:
        """Republish the Home of everyone who can see `case` and has App Home open."""
        users = {p.user_id for p in case.people() if p.platform == PLATFORM}
        if case.partnership_informed:
            users |= {user for platform, user in self.ctx.partnership_members if platform == PLATFORM}
        for user_id in await asyncio.to_thread(viewers_among, self.ctx, PLATFORM, users):
            await self.publish(user_id, unchanged_too=False)
