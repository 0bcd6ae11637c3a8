"""Turning the engine's answer into Slack's answer to a view submission."""

from __future__ import annotations

from bot.slack import messages, payloads
from flows.errors import Refused


async def refuse(ack, refused: Refused, view: dict) -> None:
    """Show the message at the field that is wrong; otherwise replace the form with it."""
    block_ids = payloads.block_ids(view)
    if refused.field and refused.field in block_ids:
        await ack(response_action="errors", errors={refused.field: refused.message})
    else:
        await ack(response_action="update", view=messages.notice_modal("Nothing was done", refused.message))
