from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.actions.case_buttons import register_case_buttons
from bot.slack.listeners.actions.home_buttons import register_home_buttons
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    register_case_buttons(app, services)
    register_home_buttons(app, services)
