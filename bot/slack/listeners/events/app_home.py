"""App Home: my open cases (overdue first), stages I hold, and for the CSCP team every case with them."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.services import SlackServices
from flows.queries import failed_deliveries, my_open_cases, partnership_open_cases


def register_app_home(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    @app.event("app_home_opened")
    async def home_opened(event, client):
        if event.get("tab", "home") != "home":
            return
        person = await services.directory.person(event["user"])
        mine = await services.call(my_open_cases, person)
        partnership, failures = None, []
        if ctx.is_partnership_member(person):
            partnership = await services.call(partnership_open_cases)
            failures = await services.call(failed_deliveries)
        await client.views_publish(user_id=event["user"],
                                   view=messages.home_view(mine, ctx.clock.now(), partnership, failures))
