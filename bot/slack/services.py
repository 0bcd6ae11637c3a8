"""What the listeners are given: the engine's context, who people are, and the outbox to wake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.outbox import Outbox
from bot.slack import payloads
from bot.slack.directory import SlackDirectory
from bot.slack.home import AppHome
from flows.context import Context


@dataclass
class SlackServices:
    ctx: Context
    directory: SlackDirectory
    outbox: Outbox
    home: AppHome

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an engine function (blocking database work) off the event loop."""
        return await asyncio.to_thread(function, self.ctx, *args, **kwargs)


def read_values(view: dict) -> dict[str, Any]:
    """A submitted view's inputs by block id, whatever the element: text, select, users, date, radio."""
    return payloads.read_values(view)  # never raises, whatever shape the view has
