import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.failures import open_modal, tell
from bot.slack.services import SlackServices
from flows import forms
from flows.errors import Refused
from flows.persons import choose_email_copies
from flows.queries import CaseFilter


def register_home_buttons(app: AsyncApp, services: SlackServices) -> None:
    @app.action(messages.RAISE_ACTION)
    async def raise_escalation(ack, body, client):
        await ack()
        await open_modal(client, body["trigger_id"], messages.form_view(forms.gate_form()), body["user"]["id"])

    async def filter_changed(ack, body, action):
        """The partnership's App Home filters: the choice is kept in the view and the Home is redrawn."""
        await ack()
        current = payloads.read_json((body.get("view") or {}).get("private_metadata"))
        current = current if isinstance(current, dict) else {}
        chosen = payloads.text((action.get("selected_option") or {}).get("value"))
        key = messages.HOME_FILTERS[action["action_id"]]
        current[key] = {"stage": int(chosen) if chosen.isdigit() else None, "overdue": chosen == "yes"}.get(key, chosen)
        fields = {k: v for k, v in current.items() if k in CaseFilter.__dataclass_fields__}
        await services.home.publish(body["user"]["id"], CaseFilter(**fields))

    for action_id in messages.HOME_FILTERS:
        app.action(action_id)(filter_changed)

    async def email_copies_chosen(ack, body, action, client):
        await ack()
        user_id = body["user"]["id"]
        person = await services.directory.person(user_id)
        try:
            await asyncio.to_thread(
                choose_email_copies, services.ctx, person, messages.EMAIL_COPIES_ACTIONS[action["action_id"]]
            )
        except Refused as refused:
            await tell(client, user_id, None, refused.message)
        await services.home.publish(user_id)

    for action_id in messages.EMAIL_COPIES_ACTIONS:
        app.action(action_id)(email_copies_chosen)
