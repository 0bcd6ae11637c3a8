"""Sends outbox messages to Slack: direct messages, card updates, the partnership channel and its threads."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import DeliveryError, Pending
from bot.pacing import Limit, Pacer
from bot.slack import messages
from bot.slack.errors import CONNECTION_ERRORS, error_code, status_code
from bot.slack.home import AppHome
from bot.slack.recovery import Recovery, outbox_metadata
from flows import cards, topics
from flows.cards import reader_card
from flows.context import Context
from flows.digest import Digest
from flows.escalations import actions_for
from flows.paperwork import Document, not_attached
from flows.people import PersonRef
from flows.posts import CARD, PARTNERSHIP_POST, Post, content_hash, posts_of, remember_content, remember_post
from flows.records import CaseView
from flows.report_posts import files_for

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Slack answers these when trying again later may work; anything else will not get better by itself.
TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_is_limited",
}
GONE_ERRORS = {"message_not_found", "channel_not_found", "cant_update_message"}
FILE_TOPICS = {topics.DOCUMENT, topics.REPORT}
# Messages that go with the person's one card for the case: the first posts it, the rest go in its thread.
WITH_CARD = topics.CARD_TOPICS | {topics.REMINDER, topics.ACTION_DUE, topics.CHASER}

# Slack's published limits (docs.slack.dev, "Rate limits"; each method's page gives its tier), per method per
# workspace, except chat.postMessage: about one message a second in each channel. Tier 3 is 50+ a minute, Tier 4
# 100+, each with bursts welcome: a minute's allowance may go at once, then the calls are spaced to the rate.
POST_PER_CHANNEL = Limit(per_second=1.0, burst=1)
LIMITS = {
    "chat.update": Limit.per_minute(50),  # Tier 3
    "conversations.open": Limit.per_minute(50),  # Tier 3
    "conversations.history": Limit.per_minute(50),  # Tier 3
    "conversations.replies": Limit.per_minute(50),  # Tier 3
    "views.publish": Limit.per_minute(100),  # Tier 4
}


def transient(error: SlackApiError) -> bool:
    status = status_code(error)
    return error_code(error) in TRANSIENT_ERRORS or status == 429 or status >= 500


def _words_only(why: str, document: str) -> DeliveryError:
    """A notice whose words went without its document: failed for good, the partnership team told which."""
    return DeliveryError(
        f"{why}: {document[0].lower()}{document[1:]} could not be attached", transient=False, words_sent=True
    )


class SlackSender:
    def __init__(
        self,
        ctx: Context,
        client: AsyncWebClient,
        partnership_channel: str,
        home: AppHome,
        pacer: Pacer | None = None,
    ):
        self.ctx, self.client, self.partnership_channel, self.home = ctx, client, partnership_channel, home
        self.pacer = pacer or Pacer()
        self.recovery = Recovery(client, self.pacer, LIMITS)

    async def deliver(self, message: Pending) -> None:
        try:
            if message.audience == topics.PERSON:
                await self._to_person(message)
            elif message.audience == topics.PARTNERSHIP:
                await self._to_partnership(message)
            elif message.audience == topics.CARDS:
                await self._refresh(message.case)
            else:
                raise DeliveryError(f"unknown audience {message.audience}", transient=False)
        except SlackApiError as error:
            raise DeliveryError(error_code(error), transient=transient(error)) from None
        except CONNECTION_ERRORS as error:
            raise DeliveryError(f"connection: {error.__class__.__name__}", transient=True) from None

    # ---------------------------------------------------------------- people

    async def _to_person(self, message: Pending) -> None:
        recipient = message.recipient
        if recipient is None or recipient.platform != PLATFORM:
            raise DeliveryError(
                f"no way yet to reach people on {recipient.platform if recipient else '?'}", transient=False
            )
        if message.topic in FILE_TOPICS:
            channel = await self._direct_message(message, recipient)
            await self._send_files(message, channel, paced_as=recipient.user_id)
            return
        now = self.ctx.clock.now()
        lead = messages.person_lead(message.topic, message.case, message.payload, now, recipient)
        if message.topic in WITH_CARD:
            await self._with_card(message, recipient, lead)
        elif "document" in message.payload:
            channel = await self._direct_message(message, recipient)
            await self._with_document(message, channel, lead, paced_as=recipient.user_id)
        else:
            await self._post(message, recipient.user_id, paced_as=recipient.user_id, text=lead)

    async def _post_card(self, message: Pending, recipient: PersonRef, lead: str) -> None:
        case = message.case
        text, blocks = messages.card_message(
            await asyncio.to_thread(reader_card, self.ctx, case, recipient, self.ctx.clock.now()), lead
        )
        channel, ts = await self._post(message, recipient.user_id, paced_as=recipient.user_id, text=text, blocks=blocks)
        said = said_by(text, blocks)
        await asyncio.to_thread(remember_post, self.ctx, case.id, PLATFORM, CARD, channel, ts, recipient, lead, said)

    async def _with_card(self, message: Pending, recipient: PersonRef, lead: str) -> None:
        """A person has one card for a case: posted with the first message that needs it, these words above.
        Later messages go in its thread, shown in the conversation too (where Slack shows them as replies to the
        card, which opens it), and the card is redrawn in place as the case stands (the redraw queued after this
        message does it)."""
        card = await asyncio.to_thread(self._card_of, message.case, recipient)
        if card is None:
            await self._post_card(message, recipient, lead)
            return
        await self._post(
            message,
            card.channel,
            thread_ts=card.message_id,
            paced_as=recipient.user_id,
            reply_broadcast=True,
            text=lead,
        )

    def _card_of(self, case: CaseView, recipient: PersonRef) -> Post | None:
        """The person's card for the case (the latest, where an older bot posted more than one)."""
        found = [
            p
            for p in posts_of(self.ctx, case.id, PLATFORM)
            if p.kind == CARD and p.reader is not None and p.reader.key == recipient.key
        ]
        return found[-1] if found else None

    # ---------------------------------------------------------------- the partnership channel

    async def _to_partnership(self, message: Pending) -> None:
        if message.topic == topics.DIGEST:
            text, blocks = messages.digest_message(Digest.from_payload(message.payload))
            await self._post(message, self.partnership_channel, text=text, blocks=blocks)
            return
        if message.topic == topics.REPORT:
            await self._send_files(message, self.partnership_channel)
            return
        if message.topic == topics.DELIVERY_FAILED:
            payload = message.payload
            await self._post(
                message,
                self.partnership_channel,
                text=messages.delivery_failed_text(
                    payload.get("reference", ""), payload.get("topic", ""), payload.get("error", "")
                ),
            )
            return
        case = message.case
        thread_ts = await self._partnership_post(case, message)
        if message.topic == topics.DOCUMENT:  # written before a notice carried its document: still delivered
            await self._send_files(message, self.partnership_channel, thread_ts)
            return
        words = messages.partnership_reply(message.topic, case, message.payload, self.ctx.clock.now())
        if "document" in message.payload:
            await self._with_document(message, self.partnership_channel, words, thread_ts)
            return
        await self._post(message, self.partnership_channel, thread_ts=thread_ts, text=words)

    def _partnership_message(self, case: CaseView) -> tuple[str, list[dict]]:
        return messages.partnership_post(case, self.ctx.clock.now(), actions_for(self.ctx, case, None, documents=True))

    async def _partnership_post(self, case: CaseView, message: Pending) -> str:
        """The case's one message in the partnership channel: posted the first time, updated after."""
        text, blocks = self._partnership_message(case)
        posts = [
            p for p in await asyncio.to_thread(posts_of, self.ctx, case.id, PLATFORM) if p.kind == PARTNERSHIP_POST
        ]
        if posts:
            await self._update(posts[0], text, blocks)
            return posts[0].message_id
        channel, ts = await self._post(message, self.partnership_channel, text=text, blocks=blocks)
        said = said_by(text, blocks)
        await asyncio.to_thread(
            remember_post, self.ctx, case.id, PLATFORM, PARTNERSHIP_POST, channel, ts, None, "", said
        )
        return ts

    # ---------------------------------------------------------------- posting once

    async def _post(
        self, message: Pending, channel: str, *, thread_ts: str | None = None, paced_as: str = "", **content
    ) -> tuple[str, str]:
        """Post for this outbox row, tagged with its id, unless an earlier attempt did: (channel, ts). `paced_as`:
        the conversation for Slack's one-post-a-second pacing where `channel` may name it two ways (a person's
        direct messages: their user id, or the conversation's own id once known)."""
        if message.may_have_been_sent:
            found = await self.recovery.find(channel, message.id, message.created_at, thread_ts)
            if found:
                log.info("outbox message %s was already in Slack: not sent again", message.id)
                return found
        await self.pacer.wait(("chat.postMessage", paced_as or channel), POST_PER_CHANNEL)
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, metadata=outbox_metadata(message.id), **content
        )
        return response["channel"], response["ts"]

    # ---------------------------------------------------------------- the paperwork, as files

    async def _direct_message(self, message: Pending, recipient: PersonRef) -> str:
        """The bot's direct message with someone (a file is shared to a conversation, not to a person): where their
        card was posted, or else as Slack opens it."""
        if message.case is not None:
            card = await asyncio.to_thread(self._card_of, message.case, recipient)
            if card is not None:
                return card.channel
        return (await self.client.conversations_open(users=recipient.user_id))["channel"]["id"]

    async def _with_document(
        self, message: Pending, channel: str, words: str, thread_ts: str | None = None, paced_as: str = ""
    ) -> None:
        """A notice and its document in one message: the words above the file. Should Slack refuse the file for
        good, the words go alone (the reader is owed them), saying where to have the document, and the failure
        is reported as any other; a later try finds those words by the row's id and sends nothing more."""
        files, comment = await self._files(message, words)
        what, instead = not_attached(message.case, message.payload["document"], message.audience == topics.PERSON)
        if message.may_have_been_sent:
            if await self._already_shared(message, channel, files, thread_ts):
                return
            if await self.recovery.find(channel, message.id, message.created_at, thread_ts):
                raise _words_only("refused by Slack on an earlier try", what)
        try:
            await self._upload(channel, files, comment, thread_ts, paced_as)
        except SlackApiError as error:
            if transient(error):
                raise
            await self._post(message, channel, thread_ts=thread_ts, paced_as=paced_as, text=f"{words}\n\n{instead}")
            raise _words_only(error_code(error), what) from None

    async def _send_files(
        self, message: Pending, channel: str, thread_ts: str | None = None, paced_as: str = ""
    ) -> None:
        """The message's documents, shared in a conversation in one message with a line above them; unless an
        earlier attempt did."""
        files, comment = await self._files(message)
        if message.may_have_been_sent and await self._already_shared(message, channel, files, thread_ts):
            return
        await self._upload(channel, files, comment, thread_ts, paced_as)

    async def _files(self, message: Pending, words: str = "") -> tuple[list[tuple[Document, str]], str]:
        """The documents with their titles, and the comment above them (after the notice's `words`, if any)."""
        files, line = await asyncio.to_thread(
            files_for, self.ctx, message.topic, message.case, message.payload, message.audience == topics.PERSON
        )
        return files, f"{words}\n\n{line}" if words else line

    async def _already_shared(
        self, message: Pending, channel: str, files: list[tuple[Document, str]], thread_ts: str | None
    ) -> bool:
        titles = [title for _, title in files]
        found = await self.recovery.find_files(channel, message.id, titles, message.created_at, thread_ts)
        if found:
            log.info("outbox message %s was already in Slack: not sent again", message.id)
        return bool(found)

    async def _upload(
        self, channel: str, files: list[tuple[Document, str]], comment: str, thread_ts: str | None, paced_as: str
    ) -> None:
        """By Slack's external upload (files_upload_v2: an address, the bytes, then completed in the conversation)."""
        await self.pacer.wait(("chat.postMessage", paced_as or channel), POST_PER_CHANNEL)  # it posts there
        await self.client.files_upload_v2(
            file_uploads=[
                {"content": document.content, "filename": document.filename, "title": title}
                for document, title in files
            ],
            channel=channel,
            thread_ts=thread_ts,
            initial_comment=comment,
        )

    async def _update(self, post: Post, text: str, blocks: list[dict]) -> None:
        """Update the message in place, unless it already says this (as far as the bot last drew it)."""
        said = said_by(text, blocks)
        if said == post.content_hash:
            return
        await self.pacer.wait(("chat.update",), LIMITS["chat.update"])
        await self.client.chat_update(channel=post.channel, ts=post.message_id, text=text, blocks=blocks)
        await asyncio.to_thread(remember_content, self.ctx, PLATFORM, post.channel, post.message_id, said)

    # ---------------------------------------------------------------- every copy of the card

    async def _refresh(self, case: CaseView) -> None:
        """Every copy, each with its own reader's buttons."""
        now = self.ctx.clock.now()
        for post in await asyncio.to_thread(posts_of, self.ctx, case.id, PLATFORM):
            if post.kind == PARTNERSHIP_POST:
                text, blocks = self._partnership_message(case)
            else:
                card = (
                    await asyncio.to_thread(reader_card, self.ctx, case, post.reader, now)
                    if post.reader is not None
                    else cards.case_card(case, now, [])
                )
                text, blocks = messages.card_message(card, post.lead)
            try:
                await self._update(post, text, blocks)
            except SlackApiError as error:
                # Someone deleted that copy: nothing to update there.
                if error_code(error) not in GONE_ERRORS:
                    raise
        await self.home.refresh_for(case)


def said_by(text: str, blocks: list[dict]) -> str:
    return content_hash({"text": text, "blocks": blocks})
