"""Teams' side of the conversation with the bot: activities posted to its /api/messages, each with a Bot
Framework token signed by the stand-in (bot.standin.teams). What Teams shows of an invoke's answer (a dialog,
a card) is checked as Teams checks it."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.standin.adaptive_cards import validate_card
from bot.standin.teams import TeamsStandin, TeamsUser


@dataclass
class Reply:
    status: int
    body: dict | list | str | None


class TeamsSide:
    def __init__(self, bot_url: str, standin: TeamsStandin):
        self.bot_url, self.standin = bot_url, standin
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def post(self, activity: dict, token: str | None = None) -> Reply:
        """One activity, signed as the Bot Framework signs it unless `token` is given ("" for none)."""
        token = self.standin.sign(service_url=activity.get("serviceUrl")) if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(self.bot_url, json=activity, headers=headers) as response:
            text = await response.text()
            body = (
                await response.json(content_type=None) if text and response.content_type == "application/json" else text
            )
            return Reply(response.status, body or None)

    async def say(self, user: TeamsUser, text: str) -> Reply:
        return await self.post(self.standin.message(user, text))

    async def install(self, user: TeamsUser) -> list[Reply]:
        return [await self.post(activity) for activity in self.standin.installation(user)]

    async def invoke(self, user: TeamsUser, name: str, value: dict) -> Reply:
        """An invoke (a dialog opened or submitted, an Action.Execute): any card in the answer must be valid."""
        reply = await self.post(self.standin.invoke(user, name, value))
        for found in _cards_in(reply.body):
            validate_card(found)
        return reply

    async def answer_consent(self, user: TeamsUser, attachment: dict, accept: bool = True) -> Reply:
        """`user` accepts (or declines) a file consent card the bot sent them."""
        return await self.post(self.standin.file_consent(user, attachment, accept))


def _cards_in(body) -> list[dict]:
    if isinstance(body, dict):
        if body.get("type") == "AdaptiveCard":
            return [body]
        return [card for value in body.values() for card in _cards_in(value)]
    if isinstance(body, list):
        return [card for value in body for card in _cards_in(value)]
    return []
