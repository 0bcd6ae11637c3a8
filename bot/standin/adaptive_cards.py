"""What Teams refuses in an Adaptive Card, for the stand-in Bot Connector and the stand-in Teams client.

Two checks. The properties the Adaptive Card schema marks required, and that every element's type is one
Adaptive Cards knows, with input ids unique; then each element against the Teams SDK's own card models
(microsoft_teams.cards, generated from the schema), which refuse a wrong value for a known property (a
style, a spacing, a choice's shape). Teams renders cards up to version 1.5 in bot messages and dialogs.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from microsoft_teams.cards import core
from pydantic import ValidationError

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
# Teams refuses a message larger than about 28 KB (HTTP 413, MessageSizeTooBig).
MAX_MESSAGE_BYTES = 28 * 1024

# The properties the Adaptive Card schema (1.5) requires, by element or action type.
REQUIRED = {
    "TextBlock": ("text",),
    "RichTextBlock": ("inlines",),
    "TextRun": ("text",),
    "FactSet": ("facts",),
    "Image": ("url",),
    "ImageSet": ("images",),
    "Media": ("sources",),
    "Container": ("items",),
    "ActionSet": ("actions",),
    "Input.Text": ("id",),
    "Input.Number": ("id",),
    "Input.Date": ("id",),
    "Input.Time": ("id",),
    "Input.Toggle": ("id", "title"),
    "Input.ChoiceSet": ("id",),
    "Action.OpenUrl": ("url",),
    "Action.ShowCard": ("card",),
    "Action.ToggleVisibility": ("targetElements",),
}
# Where elements and actions nest inside others.
CHILD_ELEMENTS = ("body", "items", "columns", "cells", "rows", "inlines")
CHILD_ACTIONS = ("actions", "selectAction")


def _models() -> dict[str, type]:
    found = {}
    for _, cls in inspect.getmembers(core, inspect.isclass):
        if issubclass(cls, (core.CardElement, core.Action)) and "type" in getattr(cls, "model_fields", {}):
            default = cls.model_fields["type"].default
            if isinstance(default, str):
                found.setdefault(default, cls)
    return found


MODELS = _models()


class CardError(ValueError):
    pass


def validate_card(card: Any) -> None:
    """Raise CardError naming the first thing Teams would refuse in `card` (an Adaptive Card as JSON)."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        raise CardError("an Adaptive Card has type AdaptiveCard")
    if card.get("version") not in SUPPORTED_VERSIONS:
        raise CardError(f"version {card.get('version')!r} is not one Teams renders ({', '.join(SUPPORTED_VERSIONS)})")
    ids: set[str] = set()
    for item in card.get("body") or []:
        _element(item, "body", ids)
    for action in card.get("actions") or []:
        _action(action, "actions", ids)


def _check(node: dict, where: str) -> str:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise CardError(f"{where}: every element and action has a type")
    kind = node["type"]
    if kind not in MODELS:
        raise CardError(f"{where}: unknown type {kind!r}")
    missing = [name for name in REQUIRED.get(kind, ()) if node.get(name) in (None, "", [])]
    if missing:
        raise CardError(f"{where}: {kind} needs {', '.join(missing)}")
    try:
        MODELS[kind].model_validate(node)
    except ValidationError as error:
        first = error.errors()[0]
        raise CardError(f"{where}: {kind}.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    return kind


def _element(node: Any, where: str, ids: set[str]) -> None:
    kind = _check(node, where)
    if kind.startswith("Input."):
        if node["id"] in ids:
            raise CardError(f"{where}: input id {node['id']!r} is used twice")
        ids.add(node["id"])
    if kind == "Input.ChoiceSet":
        for choice in node.get("choices") or []:
            if not isinstance(choice, dict) or "title" not in choice or "value" not in choice:
                raise CardError(f"{where}: each choice has a title and a value")
    if kind == "FactSet":
        for fact in node["facts"]:
            if not isinstance(fact, dict) or not isinstance(fact.get("title"), str) or "value" not in fact:
                raise CardError(f"{where}: each fact has a title and a value")
    for name in CHILD_ELEMENTS:
        for index, child in enumerate(node.get(name) or []):
            if isinstance(child, str) and name == "inlines":
                continue
            _element(child, f"{where}.{kind}.{name}[{index}]", ids)
    for name in CHILD_ACTIONS:
        value = node.get(name)
        for index, action in enumerate(value if isinstance(value, list) else [value] if value else []):
            _action(action, f"{where}.{kind}.{name}[{index}]", ids)


def _action(node: Any, where: str, ids: set[str]) -> None:
    kind = _check(node, where)
    if kind == "Action.ShowCard":
        shown = node["card"]
        for item in shown.get("body") or []:
            _element(item, f"{where}.card", ids)


def validate_activity(activity: dict) -> None:
    """What Teams refuses in a message the bot sends: too large, or an attachment with an invalid card."""
    if len(json.dumps(activity).encode()) > MAX_MESSAGE_BYTES:
        raise CardError("MessageSizeTooBig")
    for index, attachment in enumerate(activity.get("attachments") or []):
        if attachment.get("contentType") == CARD_CONTENT_TYPE:
            try:
                validate_card(attachment.get("content"))
            except CardError as error:
                raise CardError(f"attachments[{index}]: {error}") from None
