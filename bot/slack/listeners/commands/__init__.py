from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.commands.escalate import register_escalate
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    register_escalate(app, services)
