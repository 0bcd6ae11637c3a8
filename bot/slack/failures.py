"""When something fails, the person is told, Slack gets an answer that is not a 5xx, and the log gets
the error's class only (never the request: it can hold a child's initials and case reference)."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import describe
from bot.slack import messages, payloads
from bot.slack.errors import CONNECTION_ERRORS, error_code, status_code
from bot.slack.http import ANSWERED

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong; nothing was changed. Please try again."
FORM_TOO_LATE = "Slack did not open the form in time. "
AGAIN_COMMAND = "Please type /escalate again."
AGAIN_BUTTON = "Please press the button again."
UNREADABLE_BUTTON = (
    "This button could not be read (it may be from an older card); nothing was done. "
    "Type /escalate list to see your cases."
)
# A trigger id lives 3 seconds from Slack's request: views.open gets what is left of that, not
# slack_sdk's full retries (a 429's Retry-After alone can be longer).
OPEN_SECONDS = 2.5
# Slack failures that mean "not in time" rather than "not like that".
_LATE = {"expired_trigger_id", "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
_KINDS = {"block_actions", "view_submission", "event_callback"}


async def open_modal(
    client: AsyncWebClient,
    trigger_id: str,
    view: dict,
    user_id: str,
    channel_id: str | None = None,
    again: str = AGAIN_BUTTON,
) -> bool:
    """views.open within the trigger's life; when Slack does not open it, the person is told."""
    try:
        await asyncio.wait_for(client.views_open(trigger_id=trigger_id, view=view), OPEN_SECONDS)
        return True
    except SlackApiError as error:
        code = error_code(error)
        late = code in _LATE or status_code(error) == 429 or status_code(error) >= 500
        log.warning("views.open failed: %s", code)
    except CONNECTION_ERRORS as error:
        late = True
        log.warning("views.open failed: %s", error.__class__.__name__)
    await tell(client, user_id, channel_id, (FORM_TOO_LATE + again) if late else SOMETHING_WENT_WRONG)
    return False


async def tell(client: AsyncWebClient, user_id: str, channel_id: str | None, text: str) -> None:
    """A short message only the person sees where they were; a direct message when that cannot be."""
    if not payloads.user_id(user_id):
        return  # no one to tell
    try:
        if payloads.channel_id(channel_id):
            try:
                await client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
                return
            except SlackApiError:
                pass  # the bot is not in that channel, or it is gone
        await client.chat_postMessage(channel=user_id, text=text)
    except (SlackApiError, *CONNECTION_ERRORS) as error:
        log.warning(
            "could not tell the person something failed: %s",
            error_code(error) if isinstance(error, SlackApiError) else error.__class__.__name__,
        )


def register_error_handler(app: AsyncApp) -> None:
    # Tasks telling people, kept until done (the event loop holds tasks only weakly).
    telling: set[asyncio.Task] = set()

    @app.error
    async def something_went_wrong(error, body, context, client, response):
        kind = _kind(body)
        log.error("%s failed: %s", kind, describe(error))
        person, channel = context.user_id, context.channel_id
        if response is None:  # the listener had answered: all that is left is to tell the person
            if kind != "event_callback":
                await tell(client, person, channel, SOMETHING_WENT_WRONG)
            # Bolt clears the listener's answer when this returns; if that is before its answer went,
            # Slack would wait 3 seconds for nothing. So return only once it has gone.
            answered = context.get(ANSWERED)
            if answered is not None:
                await answered.wait()
            return None
        if kind == "view_submission":
            # Pushed over the form, so what they typed is still there when they close the notice.
            notice = messages.notice_modal("Nothing was done", SOMETHING_WENT_WRONG)
            return BoltResponse(status=200, body={"response_action": "push", "view": notice})
        if kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": SOMETHING_WENT_WRONG})
        if kind == "block_actions":
            # Told after answering: Slack waits for the answer, not for the message.
            task = asyncio.create_task(tell(client, person, channel, SOMETHING_WENT_WRONG))
            telling.add(task)
            task.add_done_callback(telling.discard)
        return BoltResponse(status=200, body="")


def _kind(body) -> str:
    """What kind of request failed, in words from a fixed list (the body's own words are not logged)."""
    if not isinstance(body, dict):
        return "request"
    if "command" in body:
        return "command"
    return body.get("type") if body.get("type") in _KINDS else "request"
