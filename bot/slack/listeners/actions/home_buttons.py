from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import open_modal
from bot.slack.services import SlackServices


def register_home_buttons(app: AsyncApp, services: SlackServices) -> None:
    @app.action(messages.RAISE_ACTION)
    async def raise_escalation(ack, body, client):
        await ack()
        await open_modal(client, body["trigger_id"], messages.gate_modal(services.ctx.policy), body["user"]["id"])
