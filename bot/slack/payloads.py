"""What Slack sends, read in one place, so that no shape of payload can make a listener fail.

Slack sends well-formed payloads, but a correctly signed request can still carry anything: a card
from an older version of the bot, a client's bug, a replayed body. `well_formed` tells the web
front (bot/slack/http.py) what to refuse before Bolt routes it; the readers give listeners what they
expect (text is text, a list is a list, an id looks like an id) and something they refuse politely
otherwise.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)

# Slack's user ids: U… (W… on Enterprise Grid); channel ids: C…, G… (private), D… (direct messages).
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
# A case's version, as the bot writes it into a button (SQLite's integers are 64-bit).
_MAX_VERSION = 2**62


def text(value: Any) -> str:
    """Text as listeners expect it: anything but a string reads as empty. Lone surrogates (JSON
    allows them; SQLite and Slack do not) are dropped."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "ignore").decode("utf-8")


def user_id(value: Any) -> str:
    """A Slack user id, or "" when the value is not one."""
    return value if isinstance(value, str) and _USER_ID.fullmatch(value) else ""


def channel_id(value: Any) -> str:
    """A Slack channel id, or "" when the value is not one."""
    return value if isinstance(value, str) and _CHANNEL_ID.fullmatch(value) else ""


def user_ids(values: Any) -> list[str]:
    return [value for value in values if user_id(value)] if isinstance(values, list) else []


def read_date(value: Any) -> date | None:
    """A datepicker's ISO date; None when there is none or it is not a date."""
    try:
        return date.fromisoformat(text(value)) if value else None
    except ValueError:
        return None


def read_json(value: Any) -> Any:
    """JSON the bot wrote into a view or a button; None when it is not JSON."""
    try:
        return json.loads(text(value))
    except (ValueError, RecursionError):
        return None


def read_action_value(value: Any) -> tuple[str, int | None]:
    """A case button's value: (reference, version). The version is None on a settled copy, whose buttons do not
    act on the case as the reader saw it. ("", None) when it cannot be read: the caller refuses that politely."""
    data = read_json(value)
    if not isinstance(data, dict):
        return "", None
    reference, version = text(data.get("r")), data.get("v")
    if not reference or (version is not None and (type(version) is not int or not 0 <= version < _MAX_VERSION)):
        return "", None
    return reference, version


def read_metadata(value: Any) -> dict[str, str]:
    """A view's private_metadata, written by the bot as a JSON object of strings."""
    data = read_json(value)
    if not isinstance(data, dict):
        return {}
    return {key: text(item) for key, item in data.items() if isinstance(item, str)}


def block_ids(view: Any) -> set[str]:
    """The block ids of a submitted view's blocks (where an error can be shown)."""
    blocks = view.get("blocks") if isinstance(view, dict) else None
    if not isinstance(blocks, list):
        return set()
    return {block["block_id"] for block in blocks if isinstance(block, dict) and isinstance(block.get("block_id"), str)}


class FormValues(dict):
    """A submitted view's answers by block id. `get(block, default)` gives the default when the
    answer is missing or not of the default's type: a text field never reads as a list."""

    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key, default)
        if default is not None and not isinstance(value, type(default)):
            return default
        return value


def read_values(view: Any) -> FormValues:
    """A submitted view's inputs by block id, whatever the element: text, select, users, date, radio."""
    values = FormValues()
    state = view.get("state") if isinstance(view, dict) else None
    blocks = state.get("values") if isinstance(state, dict) else None
    if not isinstance(blocks, dict):
        return values
    for block_id, actions in blocks.items():
        if not isinstance(actions, dict):
            continue
        for action in actions.values():
            if isinstance(action, dict):
                values[block_id] = _answer(action)
    return values


def _answer(action: dict) -> Any:
    kind = action.get("type")
    if kind in ("static_select", "radio_buttons"):
        return _option_value(action.get("selected_option"))
    if kind in ("multi_static_select", "checkboxes"):
        options = action.get("selected_options")
        return [v for v in map(_option_value, options) if v] if isinstance(options, list) else []
    if kind == "multi_users_select":
        return user_ids(action.get("selected_users"))
    if kind == "users_select":
        return user_id(action.get("selected_user"))
    if kind == "datepicker":
        return text(action.get("selected_date")) or None
    return text(action.get("value"))


def _option_value(option: Any) -> str:
    return text(option.get("value")) if isinstance(option, dict) else ""


# ------------------------------------------------------------------ before Bolt routes a request


def well_formed(body: Any) -> bool:
    """Whether a request is one Bolt and the listeners can act on. Bolt's own readers index into
    the body as Slack shapes it (even while building its error handler's arguments), so a body
    they cannot read would fail in Bolt itself; and no listener can act without the person's id,
    an interaction's trigger, or a form's callback id."""
    # Bolt's warning about a request nothing listens for reads any "view" as an object.
    if not isinstance(body, dict) or not isinstance(body.get("view", {}), dict):
        return False
    try:
        for read in _BOLT_READERS:
            read(body)
    except Exception:  # whatever Bolt's reader stumbled on, the body is not as Slack sends it
        return False
    return _what_listeners_need(body)


def clean(body: dict) -> None:
    """Drops lone surrogates from every text in the body, and makes the names listeners read text,
    so nothing downstream meets them."""
    # Without recursion: a payload can nest deeper than Python's recursion limit.
    stack: list[dict | list] = [body]
    while stack:
        node = stack.pop()
        for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(value, str):
                node[key] = text(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
    if "command" in body:
        body["text"], body["user_name"] = text(body.get("text")), text(body.get("user_name"))
    if isinstance(body.get("user"), dict):
        body["user"]["name"] = text(body["user"].get("name"))


_BOLT_READERS = (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message, to_step)


def _what_listeners_need(body: dict) -> bool:
    if "command" in body:
        return bool(user_id(body.get("user_id"))) and isinstance(body.get("trigger_id"), str)
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        return isinstance(event, dict) and (event.get("type") != "app_home_opened" or bool(user_id(event.get("user"))))
    if kind not in ("block_actions", "view_submission"):
        return True  # nothing listens: Bolt answers that it was not handled
    user = body.get("user")
    if not (isinstance(user, dict) and user_id(user.get("id"))):
        return False
    if kind == "view_submission":
        view = body.get("view")
        return isinstance(view, dict) and isinstance(view.get("callback_id"), str)
    actions = body.get("actions")
    return (
        isinstance(body.get("trigger_id"), str)
        and isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    )
