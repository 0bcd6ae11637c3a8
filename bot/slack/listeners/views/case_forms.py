"""The forms behind the card's buttons: Slack's answers, people looked up, handed to flows.forms.submit."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.listeners.views.answers import answers_of, refuse
from bot.slack.services import SlackServices
from flows import forms
from flows import permissions as can
from flows.errors import Refused


def register_case_forms(app: AsyncApp, services: SlackServices) -> None:
    directory = services.directory

    async def submitted(ack, body, view):
        action = messages.ACTION_OF_VIEW[view["callback_id"]]
        reference, version = payloads.read_action_value(view.get("private_metadata"))
        person = await directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            await services.call(forms.submit, action, reference, person, version, await answers_of(view, directory))
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack()
        services.outbox.wake()

    for callback_id, action in messages.ACTION_OF_VIEW.items():
        if action != can.DETAILS:
            app.view(callback_id)(submitted)
