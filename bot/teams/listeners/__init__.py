"""What the bot does with each activity Teams sends it, registered on the SDK's router: one module each for
messages in the personal chat, the raise dialog (and the message extension that opens it), and the case card's
Action.Execute buttons."""

from microsoft_teams.apps import App

from bot.teams.listeners import card_actions, dialogs, files, messages
from bot.teams.services import TeamsServices


def register(app: App, services: TeamsServices) -> None:
    messages.register(app, services)
    dialogs.register(app, services)
    card_actions.register(app, services)
    files.register(app, services)
