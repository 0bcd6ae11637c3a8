"""Listeners split by kind; each package has one register(app, services)."""

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import actions, commands, events, views
from bot.slack.services import SlackServices


def register(app: AsyncApp, services: SlackServices) -> None:
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
