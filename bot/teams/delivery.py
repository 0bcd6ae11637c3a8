"""Sends outbox messages to people in Teams, each in their personal chat with the bot, through the Teams SDK.

A person's chat is known once the app is installed for them (flows.persons.ChatAddress, kept by the
handlers); otherwise the bot asks the Bot Connector to open one, which Teams refuses (403) while the app is not
installed for them: a failure for good, reported to the partnership team, until an administrator installs the
app (README, "Connect to Teams"). 429 and 5xx were already tried again by the SDK client's middleware
(bot/teams/app.py); what still fails is tried again later by the outbox.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from microsoft_teams.api import Account, CreateConversationParams, MessageActivityInput
from microsoft_teams.apps import App

from bot.outbox import DeliveryError, Pending
from bot.teams.app import TokenError
from bot.teams.cards import as_card, case_card, notice_card
from bot.teams.directory import PLATFORM
from flows import topics
from flows.context import Context
from flows.notices import person_notice
from flows.people import PersonRef
from flows.persons import ChatAddress, chat_address, remember_chat_address
from flows.posts import CARD, posts_of, remember_post
from flows.records import CaseView

log = logging.getLogger(__name__)
NOT_INSTALLED = "the app is not installed for this person in Teams"


class TeamsSender:
    def __init__(self, ctx: Context, app: App, tenant_id: str):
        self.ctx, self.app, self.tenant_id = ctx, app, tenant_id

    async def deliver(self, message: Pending) -> None:
        try:
            if message.audience == topics.PERSON:
                await self._to_person(message)
            elif message.audience == topics.CARDS:
                await self._refresh(message.case)
            else:
                # The partnership's channel in Teams is for the journey to add (TEAMS_CSCP_CONVERSATION_ID).
                raise DeliveryError(f"no {message.audience} messages in Teams yet", transient=False)
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status in (403, 404):
                raise DeliveryError(NOT_INSTALLED, transient=False) from None
            raise DeliveryError(f"teams {status}", transient=status == 429 or status >= 500) from None
        except (httpx.TransportError, TokenError) as error:
            raise DeliveryError(f"connection: {error.__class__.__name__}", transient=True) from None

    async def _to_person(self, message: Pending) -> None:
        recipient, case = message.recipient, message.case
        if recipient is None or recipient.platform != PLATFORM or case is None:
            raise DeliveryError("not a message for someone in Teams", transient=False)
        address = await asyncio.to_thread(chat_address, self.ctx, PLATFORM, recipient.user_id)
        if address is None:
            address = await self._open_chat(recipient)
        now = self.ctx.clock.now()
        notice = person_notice(message.topic, case, message.payload, now, recipient, self.ctx.policy)
        if message.topic in topics.CARD_TOPICS:
            content = case_card(case, now, notice.lead)
        else:
            content = notice_card(notice)
        sent = await self.app.send(
            address.conversation_id, MessageActivityInput().add_card(as_card(content)), service_url=address.service_url
        )
        if message.topic in topics.CARD_TOPICS:
            await asyncio.to_thread(
                remember_post,
                self.ctx,
                case.id,
                PLATFORM,
                CARD,
                address.conversation_id,
                sent.id,
                recipient,
                notice.lead,
            )

    async def _open_chat(self, recipient: PersonRef) -> ChatAddress:
        """The personal chat with someone the bot has not heard from in Teams: Teams opens it if the app is
        installed for them, and refuses (403) if not."""
        conversation = await self.app.api.conversations.create(
            CreateConversationParams(
                members=[Account(id=recipient.user_id)],
                tenant_id=self.tenant_id,
                channel_data={"tenant": {"id": self.tenant_id}},
            )
        )
        address = ChatAddress(conversation.id, conversation.service_url or self.app.api.service_url, self.tenant_id)
        await asyncio.to_thread(remember_chat_address, self.ctx, recipient, address)
        return address

    async def _refresh(self, case: CaseView) -> None:
        """Every Teams copy of the case card, redrawn in place."""
        now = self.ctx.clock.now()
        for post in await asyncio.to_thread(posts_of, self.ctx, case.id, PLATFORM):
            if post.kind != CARD or post.reader is None:
                continue
            address = await asyncio.to_thread(chat_address, self.ctx, PLATFORM, post.reader.user_id)
            activity = MessageActivityInput(id=post.message_id).add_card(as_card(case_card(case, now, post.lead)))
            try:
                await self.app.send(post.channel, activity, service_url=address.service_url if address else None)
            except httpx.HTTPStatusError as error:
                if error.response.status_code != 404:  # that copy is gone: nothing to update there
                    raise
