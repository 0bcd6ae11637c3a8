"""What the listeners are given: the engine's context, who people are, and the outbox to wake."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable

from bot.outbox import Outbox
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
    values: dict[str, Any] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for action in actions.values():
            kind = action.get("type")
            if kind in ("static_select", "radio_buttons"):
                option = action.get("selected_option")
                values[block_id] = option["value"] if option else ""
            elif kind in ("multi_static_select", "checkboxes"):
                values[block_id] = [o["value"] for o in action.get("selected_options") or []]
            elif kind == "multi_users_select":
                values[block_id] = list(action.get("selected_users") or [])
            elif kind == "users_select":
                values[block_id] = action.get("selected_user") or ""
            elif kind == "datepicker":
                values[block_id] = action.get("selected_date")
            else:
                values[block_id] = action.get("value") or ""
    return values
