from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.views.case_forms import register_case_forms
from bot.slack.listeners.views.raise_forms import register_raise_forms
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    register_raise_forms(app, services)
    register_case_forms(app, services)
