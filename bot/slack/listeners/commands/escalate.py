"""/escalate, /escalate help, /escalate list, /escalate ESC-2026-0001."""
from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import AGAIN_COMMAND, open_modal
from bot.slack.services import SlackServices
from flows.errors import Refused
from flows.escalations import view_case
from flows.queries import my_open_cases

REFERENCE = re.compile(r"^ESC-\d{4}-\d{1,6}$", re.IGNORECASE)


def register_escalate(app: AsyncApp, services: SlackServices) -> None:
    @app.command("/escalate")
    async def escalate_command(ack, command, client):
        text = (command.get("text") or "").strip()
        user_id = command["user_id"]
        ctx = services.ctx
        if not text:
            await ack()
            await open_modal(client, command["trigger_id"], messages.gate_modal(ctx.policy), user_id,
                             command.get("channel_id"), again=AGAIN_COMMAND)
            return
        word = text.lower()
        if word == "help":
            await ack(text="How escalation works", blocks=messages.help_blocks(ctx.policy))
            return
        person = await services.directory.person(user_id, command.get("user_name", ""))
        if word == "list":
            mine = await services.call(my_open_cases, person)
            await ack(text="Your open escalations", blocks=messages.list_blocks(mine, ctx.clock.now()))
            return
        if REFERENCE.match(text):
            try:
                case = await services.call(view_case, text.upper(), person)
            except Refused as refused:
                await ack(text=refused.message)
                return
            card_text, blocks = messages.case_card(case, ctx.clock.now())
            await ack(text=card_text, blocks=blocks)
            return
        await ack(text="I did not understand that. Type `/escalate` to raise an escalation, or `/escalate help`.")
