"""Who a Slack user is, as flows/ identifies people; and who counts as the partnership team."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import CONNECTION_ERRORS, error_code
from flows.context import Context
from flows.people import PersonRef

log = logging.getLogger(__name__)
PLATFORM = "slack"
CACHE_SECONDS = 3600
# A form must be answered within Slack's 3 seconds, so a slow or rate-limited look-up is cut short.
LOOKUP_SECONDS = 1.0


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        ctx: Context,
        member_ids: list[str],
        usergroup_id: str = "",
        executive_ids: list[str] = (),
        scrutineer_id: str = "",
    ):
        self.client, self.ctx = client, ctx
        self.member_ids, self.usergroup_id = list(member_ids), usergroup_id
        self.executive_ids, self.scrutineer_id = list(executive_ids), scrutineer_id
        self._cache: dict[str, tuple[float, PersonRef]] = {}
        ctx.set_partnership_members(PLATFORM, self.member_ids)
        # Names are filled in by refresh_partnership; permissions need only the ids.
        ctx.executive = tuple(PersonRef(PLATFORM, m) for m in self.executive_ids)
        ctx.scrutineer = PersonRef(PLATFORM, scrutineer_id) if scrutineer_id else None

    async def person(self, user_id: str, fallback_name: str = "") -> PersonRef:
        cached = self._cache.get(user_id)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            response = await asyncio.wait_for(self.client.users_info(user=user_id), LOOKUP_SECONDS)
            profile = response["user"].get("profile", {})
            person = PersonRef(
                PLATFORM,
                user_id,
                profile.get("real_name") or response["user"].get("real_name") or fallback_name,
                profile.get("email", ""),
            )
        except (SlackApiError, *CONNECTION_ERRORS) as error:
            # The person can still act; their name is filled in next time Slack answers.
            log.warning(
                "users.info failed: %s",
                error_code(error) if isinstance(error, SlackApiError) else error.__class__.__name__,
            )
            return PersonRef(PLATFORM, user_id, fallback_name, "")
        self._cache[user_id] = (time.monotonic(), person)
        return person

    async def refresh_partnership(self) -> None:
        """The CSCP team: the configured user ids plus the members of the configured user group; and the
        Executive and the Scrutineer, with their names."""
        self.ctx.executive = tuple([await self.person(m) for m in self.executive_ids])
        if self.scrutineer_id:
            self.ctx.scrutineer = await self.person(self.scrutineer_id)
        members = set(self.member_ids)
        if self.usergroup_id:
            try:
                response = await self.client.usergroups_users_list(usergroup=self.usergroup_id)
                members |= set(response["users"])
            except (SlackApiError, *CONNECTION_ERRORS) as error:
                log.warning(
                    "usergroups.users.list failed: %s",
                    error_code(error) if isinstance(error, SlackApiError) else error.__class__.__name__,
                )
                return
        self.ctx.set_partnership_members(PLATFORM, members)
