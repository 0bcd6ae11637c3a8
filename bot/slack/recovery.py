"""Looking in Slack for a message the bot may already have posted, before posting it again.

Every message posted for an outbox row carries the row's id in Slack's message metadata, and
nothing else (nothing about a child). When an earlier attempt at a row ended without a record (the
bot died between Slack's answer and the record, or a send was cut off or failed after Slack may
have posted it), the sender looks for that id in the conversation first: top-level messages with
conversations.history, a thread's replies with conversations.replies. Fresh rows are never
looked up.

The look-up is bounded: from a little before the row was written (Slack's clock and ours may differ
slightly), a few pages at most. The bound also keeps an old message from a database that was
since replaced, whose ids started again, from being taken for a new row's.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import Limit, NoPacing, Pacer
from bot.slack.errors import error_code

log = logging.getLogger(__name__)

EVENT_TYPE = "escalation_bot_outbox"
CLOCK_SKEW = timedelta(minutes=5)
PAGE_SIZE = 200
MAX_PAGES = 5


def outbox_metadata(outbox_id: int) -> dict:
    """The metadata of a message posted for outbox row `outbox_id`."""
    return {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": outbox_id}}


def _posted_for(message: dict, outbox_id: int) -> bool:
    metadata = message.get("metadata") or {}
    return (
        metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("outbox_id") == outbox_id
    )


class Recovery:
    def __init__(self, client: AsyncWebClient, pacer: Pacer | None = None, limits: dict[str, Limit] | None = None):
        self.client, self.pacer, self.limits = client, pacer or NoPacing(), limits or {}

    async def _pace(self, method: str) -> None:
        if method in self.limits:
            await self.pacer.wait((method,), self.limits[method])

    async def find(
        self, channel: str, outbox_id: int, since: datetime | None, thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        """Where the message for `outbox_id` was posted in `channel` (a user id means the bot's direct
        message with them), at top level or in `thread_ts`'s thread: (channel id, ts), or None."""
        return await self._find(channel, outbox_id, since, thread_ts, lambda message: _posted_for(message, outbox_id))

    async def find_files(
        self, channel: str, outbox_id: int, titles: list[str], since: datetime | None, thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        """Where the files for `outbox_id` were shared (a file share carries no metadata): a message from the row's
        time on whose files have all these titles (each names its document, case or period, and occasion)."""
        wanted = set(titles)

        def shared(message: dict) -> bool:
            return wanted <= {f.get("title") for f in message.get("files") or []}

        return await self._find(channel, outbox_id, since, thread_ts, shared)

    async def _find(
        self, channel: str, outbox_id: int, since: datetime | None, thread_ts: str | None, matches
    ) -> tuple[str, str] | None:
        try:
            if channel.startswith(("U", "W")):
                # Slack reads a conversation by its id; chat.postMessage took the person's.
                await self._pace("conversations.open")
                channel = (await self.client.conversations_open(users=channel))["channel"]["id"]
            return await self._search(channel, outbox_id, since, thread_ts, matches)
        except SlackApiError as error:
            if error_code(error) != "missing_scope":
                raise
            # Installed before the app asked to read history: send again, as before (at least once).
            log.warning(
                "cannot look for outbox message %s in Slack (missing scope %s): sending it again",
                outbox_id,
                error.response.get("needed", "?"),
            )
            return None

    async def _search(
        self, channel: str, outbox_id: int, since: datetime | None, thread_ts: str | None, matches
    ) -> tuple[str, str] | None:
        window = {"oldest": f"{(since - CLOCK_SKEW).timestamp():.6f}"} if since else {}
        await self._pace("conversations.history" if thread_ts is None else "conversations.replies")
        if thread_ts is None:
            response = await self.client.conversations_history(
                channel=channel, limit=PAGE_SIZE, include_all_metadata=True, **window
            )
        else:
            response = await self.client.conversations_replies(
                channel=channel, ts=thread_ts, limit=PAGE_SIZE, include_all_metadata=True, **window
            )
        pages = 0
        async for page in response:
            for message in page.get("messages", []):
                # A thread's parent comes first in its replies; it is not one of them.
                if message.get("ts") != thread_ts and matches(message):
                    return channel, message["ts"]
            pages += 1
            if pages >= MAX_PAGES and page.get("has_more"):
                log.warning(
                    "outbox message %s not found in the last %s messages looked at: sending it again",
                    outbox_id,
                    pages * PAGE_SIZE,
                )
                return None
        return None
