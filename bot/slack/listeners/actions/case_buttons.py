"""The case card's buttons: each checks the person may act, then opens its form (or shows the case)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import UNREADABLE_BUTTON, open_modal
from bot.slack.services import SlackServices
from flows import cards, forms
from flows import permissions as can
from flows.errors import Refused
from flows.escalations import check_action, view_case
from flows.paperwork import send_document
from flows.queries import history


def register_case_buttons(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    async def open_form(ack, body, action, client, context):
        name = messages.ACTION_OF_BUTTON[action["action_id"]]
        # A document is queued before Slack is answered (a short write), so an answered request is a queued one.
        if name not in can.DOCUMENTS:
            await ack()
        reference, version = messages.read_action_value(action.get("value", ""))
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            # A button that acts on the case as its reader saw it must say which version they saw.
            if not reference or (name in forms.VERSIONED_ACTIONS and version is None):
                raise Refused(UNREADABLE_BUTTON)
            if name in can.DOCUMENTS:
                case = await services.call(send_document, reference, person, name)
                services.outbox.wake()
                what = "notification form" if name == can.NOTIFICATION_FORM else "record for your agency's file"
                view = messages.form_view(
                    forms.notice(
                        "On its way",
                        f"The {what} for {case.reference}, as it stands today, is on its way to your direct "
                        "messages with me, as a Word document.",
                    )
                )
            elif name == can.DETAILS:
                case = await services.call(view_case, reference, person)
                if action["action_id"] == messages.BUTTONS[cards.HISTORY]:
                    view = messages.history_modal(case, await services.call(history, case, person))
                else:
                    view = messages.details_modal(case)
            else:
                case = await services.call(
                    check_action, reference, person, name, version if name in forms.VERSIONED_ACTIONS else None
                )
                view = messages.form_view(forms.case_form(ctx, name, case, person))
        except Refused as refused:
            view = messages.form_view(forms.refused_notice(refused))
        if name in can.DOCUMENTS:
            await ack()
        await open_modal(client, body["trigger_id"], view, body["user"]["id"], context.channel_id)

    for action_id in messages.ACTION_OF_BUTTON:
        app.action(action_id)(open_form)
