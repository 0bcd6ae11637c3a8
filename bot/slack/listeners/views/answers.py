"""A submitted view's answers, as flows.forms takes them; and the engine's refusal as Slack's answer."""

from __future__ import annotations

import asyncio

from bot.slack import messages, payloads
from bot.slack.directory import SlackDirectory
from bot.slack.services import read_values
from flows import forms
from flows.errors import Refused


async def answers_of(view: dict, directory: SlackDirectory) -> dict:
    """The form's answers by field id, with Slack user ids turned into people and the form's side kept."""
    values = read_values(view)
    answers = {block_id: values.get(block_id) for block_id in payloads.block_ids(view)}
    for field in forms.PEOPLE_FIELDS & answers.keys():
        answers[field] = list(await asyncio.gather(*(directory.person(u) for u in values.get(field) or [])))
    for field in forms.PERSON_FIELDS & answers.keys():
        user_id = values.get(field, "")
        answers[field] = await directory.person(user_id) if user_id else None
    metadata = payloads.read_json(view.get("private_metadata"))
    if isinstance(metadata, dict):
        # The gate's answers travel with the raise form; a case form may be for one side.
        for key in (*forms.GATE_FIELDS, "side"):
            answers.setdefault(key, payloads.text(metadata.get(key)))
    return answers


async def refuse(ack, refused: Refused, view: dict) -> None:
    """Show the message at the field that is wrong; otherwise replace the form with it."""
    block_ids = payloads.block_ids(view)
    if refused.field and refused.field in block_ids:
        await ack(response_action="errors", errors={refused.field: refused.message})
    else:
        await ack(response_action="update", view=messages.form_view(forms.refused_notice(refused)))
