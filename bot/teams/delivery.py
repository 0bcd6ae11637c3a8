"""Sends outbox messages in Teams through the Teams SDK: to each person in their personal chat with the bot, and
to the partnership's channel (TEAMS_CSCP_CONVERSATION_ID): one post per case, updated in place, each later step a
reply in its thread.

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
from bot.teams import cards
from bot.teams.app import TokenError
from bot.teams.directory import PLATFORM
from flows import cards as says
from flows import topics
from flows.context import Context
from flows.digest import Digest
from flows.escalations import actions_for
from flows.notices import partnership_notice, person_notice
from flows.people import PersonRef
from flows.permissions import RAISING
from flows.persons import ChatAddress, chat_address, remember_chat_address
from flows.posts import CARD, PARTNERSHIP_POST, Post, content_hash, posts_of, remember_content, remember_post
from flows.records import CaseView
from flows.report_posts import XLSX, document_of, files_for

log = logging.getLogger(__name__)
FILE_TOPICS = (topics.DOCUMENT, topics.REPORT)
NOT_INSTALLED = "the app is not installed for this person in Teams"


class TeamsSender:
    def __init__(self, ctx: Context, app: App, tenant_id: str, partnership_channel: str = ""):
        self.ctx, self.app, self.tenant_id = ctx, app, tenant_id
        self.partnership_channel = partnership_channel

    async def deliver(self, message: Pending) -> None:
        try:
            if message.audience == topics.PERSON:
                await self._to_person(message)
            elif message.audience == topics.CARDS:
                await self._refresh(message.case)
            elif self.partnership_channel:
                await self._to_partnership(message)
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status in (403, 404) and message.audience == topics.PERSON:
                raise DeliveryError(NOT_INSTALLED, transient=False) from None
            raise DeliveryError(f"teams {status}", transient=status == 429 or status >= 500) from None
        except (httpx.TransportError, TokenError) as error:
            raise DeliveryError(f"connection: {error.__class__.__name__}", transient=True) from None

    def _card(self, content: dict):
        return MessageActivityInput().add_card(cards.as_card(content))

    # ---------------------------------------------------------------- people

    async def _to_person(self, message: Pending) -> None:
        recipient, case = message.recipient, message.case
        files = message.topic in FILE_TOPICS
        if recipient is None or recipient.platform != PLATFORM or (case is None and not files):
            raise DeliveryError("not a message for someone in Teams", transient=False)
        address = await asyncio.to_thread(chat_address, self.ctx, PLATFORM, recipient.user_id)
        if address is None:
            address = await self._open_chat(recipient)
        if files:
            await self._offer_files(message, address)
            return
        now = self.ctx.clock.now()
        # Inside the partnership's own tenant, as in its Slack workspace: the case's details may be shown.
        notice = person_notice(message.topic, case, message.payload, now, recipient, details=True)
        if message.topic in topics.CARD_TOPICS:
            found = await asyncio.to_thread(says.reader_card, self.ctx, case, recipient, now)
            content = cards.case_card(found, address.chat_user_id or recipient.user_id, notice)
        else:
            content = cards.card(cards.lead_blocks(notice))
        if "document" in message.payload:
            # The document it carries, offered first: a retry after the notice failed may offer it twice (either
            # gives the same file), but never says the news twice. One activity with both cards is not used:
            # Teams may split it and then answer with no id.
            await self._offer_files(message, address)
        sent = await self.app.send(address.conversation_id, self._card(content), service_url=address.service_url)
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
                content_hash(content),
            )

    async def _offer_files(self, message: Pending, address: ChatAddress) -> None:
        """The message's documents (or the report's workbook) offered in the person's chat, each by a file consent
        card under the line that introduces it. The bytes are made again from the record when they accept
        (bot/teams/listeners/files.py): each card's context holds only the reference and the document's kind."""
        found, line = await asyncio.to_thread(files_for, self.ctx, message.topic, message.case, message.payload, True)
        for document, title in found:
            if message.topic == topics.REPORT and document.mime_type != XLSX:
                continue  # in Teams the workbook only: it has every breakdown the charts show
            if message.topic == topics.REPORT:
                context = {"kind": document.kind, "from": message.payload["from"], "to": message.payload["to"]}
            else:
                side = document_of(message.topic, message.payload, message.case).get("side", RAISING)
                context = {"kind": document.kind, "r": document.reference, "side": side}
            consent = cards.file_consent(document.filename, title, len(document.content), context)
            activity = MessageActivityInput(text=line).add_attachments(consent)
            await self.app.send(address.conversation_id, activity, service_url=address.service_url)

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

    # ---------------------------------------------------------------- every copy of the card

    async def _refresh(self, case: CaseView) -> None:
        """Every Teams copy of the case card, redrawn in place, each with its own reader's actions."""
        now = self.ctx.clock.now()
        for post in await asyncio.to_thread(posts_of, self.ctx, case.id, PLATFORM):
            if post.kind == PARTNERSHIP_POST:
                content = await self._partnership_card(case)
                service_url = self.app.api.service_url
            elif post.kind == CARD and post.reader is not None:
                found = await asyncio.to_thread(says.reader_card, self.ctx, case, post.reader, now)
                address = await asyncio.to_thread(chat_address, self.ctx, PLATFORM, post.reader.user_id)
                reader_id = (address.chat_user_id if address else "") or post.reader.user_id
                content = cards.case_card(found, reader_id, post.lead)
                service_url = address.service_url if address else None
            else:
                continue
            try:
                await self._update(post, content, service_url)
            except httpx.HTTPStatusError as error:
                if error.response.status_code != 404:  # that copy is gone: nothing to update there
                    raise

    async def _update(self, post: Post, content: dict, service_url: str | None) -> None:
        """The post redrawn in place (update_activity), unless it already says this."""
        said = content_hash(content)
        if said == post.content_hash:
            return
        activity = MessageActivityInput(id=post.message_id).add_card(cards.as_card(content))
        await self.app.send(post.channel, activity, service_url=service_url)
        await asyncio.to_thread(remember_content, self.ctx, PLATFORM, post.channel, post.message_id, said)

    # ---------------------------------------------------------------- the partnership's channel

    async def _partnership_card(self, case: CaseView) -> dict:
        actions = await asyncio.to_thread(actions_for, self.ctx, case, None, documents=True)
        return cards.case_card(says.partnership_card(case, self.ctx.clock.now(), actions), None)

    async def _to_partnership(self, message: Pending) -> None:
        channel, service_url = self.partnership_channel, self.app.api.service_url
        if message.topic == topics.DIGEST:
            digest = Digest.from_payload(message.payload)
            await self.app.send(channel, self._card(cards.digest_card(digest)), service_url=service_url)
            return
        if message.topic == topics.DELIVERY_FAILED:
            payload = message.payload
            words = (
                f"A message about {payload.get('reference', '')} could not be delivered "
                f"({payload.get('topic', '')}): {payload.get('error', '')}. Please contact the person another way."
            )
            await self.app.send(channel, MessageActivityInput(text=words), service_url=service_url)
            return
        if message.topic == topics.REPORT:
            await self.app.send(
                channel, MessageActivityInput(text=report_words(message.payload)), service_url=service_url
            )
            return
        case = message.case
        post_id = await self._partnership_post(case)
        if message.topic == topics.DOCUMENT:
            await self.app.reply(
                channel,
                post_id,
                MessageActivityInput(text=document_words(case, message.payload)),
                service_url=service_url,
            )
            return
        notice = partnership_notice(message.topic, case, message.payload, self.ctx.clock.now())
        content = cards.partnership_reply_card(notice)
        if "document" in message.payload:  # the notification form that goes with it: where to have it
            content["body"].append(cards.text(document_words(case, document_of(message.topic, message.payload, case))))
        await self.app.reply(channel, post_id, self._card(content), service_url=service_url)

    async def _partnership_post(self, case: CaseView) -> str:
        """The case's one post in the partnership channel: posted the first time, updated after."""
        content = await self._partnership_card(case)
        posts = [
            p for p in await asyncio.to_thread(posts_of, self.ctx, case.id, PLATFORM) if p.kind == PARTNERSHIP_POST
        ]
        if posts:
            await self._update(posts[0], content, self.app.api.service_url)
            return posts[0].message_id
        sent = await self.app.send(self.partnership_channel, self._card(content), service_url=self.app.api.service_url)
        await asyncio.to_thread(
            remember_post,
            self.ctx,
            case.id,
            PLATFORM,
            PARTNERSHIP_POST,
            self.partnership_channel,
            sent.id,
            None,
            "",
            content_hash(content),
        )
        return sent.id


# ---------------------------------------------------------------- the paperwork
# A bot cannot attach a file to a channel message in Teams (files there live in the channel's SharePoint folder,
# which the bot does not write to). So in Teams the partnership's channel is told the paperwork is ready and where
# to have it; a person gets it in their personal chat by the file consent card (_offer_files above).


def document_words(case: CaseView, payload: dict) -> str:
    what = "Escalation Notification Form" if payload.get("kind") == "notification_form" else "record for the file"
    when = {"stage": f"at Stage {payload.get('stage', case.current_stage)}", "closure": "at closure"}
    return (
        f"The {what} for {case.reference} is ready ({when.get(payload.get('occasion', ''), 'as asked')}). Teams does "
        "not let the bot attach files here: the Word document is in the Slack channel's thread, if you use Slack, "
        f"or the operator writes it with: escalation-bot form {case.reference} --out form.docx"
    )


def report_words(payload: dict) -> str:
    period = f"{payload.get('from', '')} to {payload.get('to', '')}"
    return (
        f"The themes report for {period} is ready. Teams does not let the bot attach files here: the charts and "
        "the workbook are in the Slack channel, if you use Slack, or the operator writes them with: escalation-bot "
        f"report --from {payload.get('from', '')} --to {payload.get('to', '')} --out report.xlsx --charts charts"
    )
