from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.events.app_home import register_app_home
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    register_app_home(app, services)
