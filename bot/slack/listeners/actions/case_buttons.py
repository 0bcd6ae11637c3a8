"""The case card's buttons: each checks the person may act, then opens its form."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import UNREADABLE_BUTTON, open_modal
from bot.slack.services import SlackServices
from flows.errors import Refused
from flows.escalations import check_action, view_case
from flows.queries import history


def _form_for(action_id: str, case, today):
    if action_id == "case_note":
        return messages.note_modal(case)
    if action_id == "case_resolve":
        return messages.outcome_modal(case, today, decision=False)
    if action_id == "case_decision":
        return messages.outcome_modal(case, today, decision=True)
    if action_id == "case_escalate":
        return messages.escalate_modal(case)
    if action_id == "case_withdraw":
        return messages.withdraw_modal(case)
    return messages.consultation_modal(case)


def register_case_buttons(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    async def open_form(ack, body, action, client, context):
        await ack()
        reference, version = messages.read_action_value(action.get("value", ""))
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        # A note never goes stale, so it is not tied to the version on the card.
        checked_version = None if action["action_id"] == "case_note" else version
        try:
            if not reference:
                raise Refused(UNREADABLE_BUTTON)
            case = await services.call(check_action, reference, person, action["action_id"], checked_version)
        except Refused as refused:
            view = messages.notice_modal("Nothing was done", refused.message)
        else:
            today = ctx.policy.working_calendar.local_date(ctx.clock.now())
            view = _form_for(action["action_id"], case, today)
        await open_modal(client, body["trigger_id"], view, body["user"]["id"], context.channel_id)

    for action_id in messages.CASE_ACTIONS:
        app.action(action_id)(open_form)

    @app.action(messages.HISTORY_ACTION)
    async def show_history(ack, body, action, client, context):
        await ack()
        reference, _ = messages.read_action_value(action.get("value", ""))
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            if not reference:
                raise Refused(UNREADABLE_BUTTON)
            case = await services.call(view_case, reference, person)
        except Refused as refused:
            view = messages.notice_modal("History", refused.message)
        else:
            view = messages.history_modal(case, await services.call(history, case))
        await open_modal(client, body["trigger_id"], view, body["user"]["id"], context.channel_id)
