"""A submitted card's answers, as flows.forms takes them: Teams gives every input as a string (several choices
joined by commas, a toggle's on or off value), keyed by input id; people are Entra ID object ids."""

from __future__ import annotations

from typing import Any

from bot.teams.directory import TeamsDirectory
from flows import forms
from flows.errors import Refused


def _ids(value: Any) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else []


async def answers_of(form: forms.Form, data: dict, directory: TeamsDirectory, turn) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for field in form.fields:
        raw = data.get(field.id)
        if field.kind == forms.Kind.CHOICES:
            answers[field.id] = _ids(raw)
        elif field.kind == forms.Kind.TICK:
            answers[field.id] = ["yes"] if raw in ("yes", True) else []
        elif field.kind == forms.Kind.PEOPLE:
            answers[field.id] = await directory.chosen(turn, _ids(raw))
        elif field.kind == forms.Kind.PERSON:
            chosen = await directory.chosen(turn, _ids(raw)[:1])
            answers[field.id] = chosen[0] if chosen else None
        else:
            answers[field.id] = raw if isinstance(raw, str) else ""
    for key in (*forms.GATE_FIELDS, "side"):
        if isinstance(data.get(key), str) and key not in answers:
            answers[key] = data[key]
    return answers


def typed(form: forms.Form, data: dict) -> dict[str, Any]:
    """What the person typed, to show again with a refusal."""
    return {field.id: data.get(field.id) for field in form.fields if isinstance(data.get(field.id), str)}


def at_field(form: forms.Form, refused: Refused) -> dict[str, str]:
    """A refusal, at its field when the form has it (otherwise shown at the top of the form)."""
    return {refused.field if refused.field in {f.id for f in form.fields} else "": refused.message}
