"""The forms behind the card's buttons: Slack's answers, people looked up, handed to flows.forms.submit."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.listeners.views.answers import refuse
from bot.slack.services import SlackServices, read_values
from flows import forms
from flows import permissions as can
from flows.errors import Refused


def register_case_forms(app: AsyncApp, services: SlackServices) -> None:
    directory = services.directory

    async def answers_of(view: dict) -> dict:
        """The form's answers, with Slack user ids turned into people and the card's side kept."""
        values = read_values(view)
        answers = {block_id: values.get(block_id) for block_id in payloads.block_ids(view)}
        for field in forms.PEOPLE_FIELDS & answers.keys():
            answers[field] = list(await asyncio.gather(*(directory.person(u) for u in values.get(field, []))))
        for field in forms.PERSON_FIELDS & answers.keys():
            user_id = values.get(field, "")
            answers[field] = await directory.person(user_id) if user_id else None
        metadata = payloads.read_json(view.get("private_metadata"))
        if not answers.get("side") and isinstance(metadata, dict):
            answers["side"] = payloads.text(metadata.get("side"))
        return answers

    async def submitted(ack, body, view):
        action = messages.ACTION_OF_VIEW[view["callback_id"]]
        reference, version = payloads.read_action_value(view.get("private_metadata"))
        person = await directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            await services.call(forms.submit, action, reference, person, version, await answers_of(view))
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack()
        services.outbox.wake()

    for callback_id, action in messages.ACTION_OF_VIEW.items():
        if action != can.DETAILS:
            app.view(callback_id)(submitted)
