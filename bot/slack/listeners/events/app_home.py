"""App Home: my open cases (overdue first), stages I hold, and for the CSCP team every case with them."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.services import SlackServices


def register_app_home(app: AsyncApp, services: SlackServices) -> None:
    @app.event("app_home_opened")
    async def home_opened(event):
        if event.get("tab", "home") == "home":
            await services.home.publish(event["user"])
