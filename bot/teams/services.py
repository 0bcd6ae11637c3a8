"""What the Teams handlers are given: the engine's context, who people are, and the outbox to wake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.outbox import Outbox
from bot.teams.directory import TeamsDirectory
from flows.context import Context


@dataclass
class TeamsServices:
    ctx: Context
    directory: TeamsDirectory
    outbox: Outbox
    # The CSCP team's channel, if configured (TEAMS_CSCP_CONVERSATION_ID).
    partnership_channel: str = ""

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an engine function (blocking database work) off the event loop."""
        return await asyncio.to_thread(function, self.ctx, *args, **kwargs)
