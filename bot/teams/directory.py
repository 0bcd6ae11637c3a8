"""Who people are in Teams: the account an activity comes from, as the one person they are on every platform.

A Teams account is known by the user's Entra ID (AAD) object id, the id an administrator configures and
Graph uses. Teams activities carry no e-mail address, so the first time an account is seen its member record
is read from the Bot Connector (name, e-mail) and the account linked to the person by work e-mail
(flows.persons), as Slack's directory does.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from flows.context import Context
from flows.people import PersonRef
from flows.persons import ChatAddress, chat_address, known_account, remember_chat_address

PLATFORM = "teams"
log = logging.getLogger(__name__)


def is_personal(activity) -> bool:
    return (activity.conversation.conversation_type or "") == "personal"


class TeamsDirectory:
    def __init__(self, ctx: Context, member_ids: list[str] = (), partnership_channel: str = ""):
        self.ctx, self.member_ids, self.partnership_channel = ctx, list(member_ids), partnership_channel
        # Permissions need only the ids; the channel's members are added by refresh_partnership.
        ctx.set_partnership_members(PLATFORM, self.member_ids)

    async def refresh_partnership(self, api) -> None:
        """The CSCP team in Teams: the configured object ids plus the members of the CSCP channel's team."""
        members = set(self.member_ids)
        if self.partnership_channel:
            try:
                found = await api.conversations.get_members(self.partnership_channel)
                members |= {m.aad_object_id for m in found if m.aad_object_id}
            except (httpx.HTTPError, OSError) as error:
                log.warning("could not read the CSCP channel's members in Teams: %s", error.__class__.__name__)
        self.ctx.set_partnership_members(PLATFORM, members)

    async def person(self, turn) -> PersonRef:
        """The person an activity is from (`turn` is the SDK's ActivityContext). In a personal chat, where the bot
        can message them later is kept too."""
        activity = turn.activity
        sender = activity.from_
        user_id = sender.aad_object_id or sender.id
        known = await asyncio.to_thread(known_account, self.ctx, PLATFORM, user_id)
        if known is not None and known.email:
            person = PersonRef(PLATFORM, user_id, sender.name or known.name, known.email)
        else:
            member = await turn.api.conversations.get_member_by_id(activity.conversation.id, sender.id)
            person = PersonRef(PLATFORM, user_id, member.name or sender.name or "", member.email or "")
        if is_personal(activity):
            address = ChatAddress(
                conversation_id=activity.conversation.id,
                service_url=activity.service_url or turn.conversation_ref.service_url,
                tenant_id=activity.conversation.tenant_id or "",
                chat_user_id=sender.id,
            )
            if known is None or await asyncio.to_thread(chat_address, self.ctx, PLATFORM, user_id) != address:
                await asyncio.to_thread(remember_chat_address, self.ctx, person, address)
        return person

    async def chosen(self, turn, user_ids: list[str]) -> list[PersonRef]:
        """People picked in a card's people picker, by their Entra ID object ids: as the bot knows them, else as
        their member record says (name, e-mail), else by id alone until they first use the app."""
        found = []
        for user_id in user_ids:
            known = await asyncio.to_thread(known_account, self.ctx, PLATFORM, user_id)
            if known is not None:
                found.append(PersonRef(PLATFORM, user_id, known.name, known.email))
                continue
            try:
                member = await turn.api.conversations.get_member_by_id(turn.activity.conversation.id, user_id)
                found.append(PersonRef(PLATFORM, user_id, member.name or "", member.email or ""))
            except Exception:  # not a member Teams will describe here: the person is kept by id
                found.append(PersonRef(PLATFORM, user_id))
        return found
