"""/escalate, /escalate help, /escalate list, /escalate ESC-2026-1, /escalate <your agency's case reference>,
/escalate report [from to] (the partnership team)."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import AGAIN_COMMAND, open_modal
from bot.slack.services import SlackServices
from flows import forms
from flows.errors import Refused
from flows.escalations import actions_for, audit_trail, is_reference, view_case
from flows.queries import cases_with_agency_reference, my_cases
from flows.report_posts import ask_for_report, period_asked

# What an agency's own case reference looks like (the form accepts the same).
AGENCY_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./_-]{0,59}$")


def not_ours(text: str) -> str:
    return (
        f"There is no escalation you can see with the case reference {text}, and it is not "
        "one of ours (ESC-2026-1). Type `/escalate help` for what I understand."
    )


def register_escalate(app: AsyncApp, services: SlackServices) -> None:
    # The same for everyone, every time: built once, so /escalate only acknowledges and opens it.
    gate_view = messages.form_view(forms.gate_form())

    @app.command("/escalate")
    async def escalate_command(ack, command, client):
        text = (command.get("text") or "").strip()
        user_id = command["user_id"]
        ctx = services.ctx
        if not text:
            await ack()
            await open_modal(
                client,
                command["trigger_id"],
                gate_view,
                user_id,
                command.get("channel_id"),
                again=AGAIN_COMMAND,
            )
            return
        word = text.lower()
        if word == "help":
            await ack(text="How escalation works", blocks=messages.help_blocks(ctx.policy))
            return
        person = await services.directory.person(user_id, command.get("user_name", ""))
        now = ctx.clock.now()
        if word == "list":
            mine = await services.call(my_cases, person)
            await ack(text="Your open escalations", blocks=messages.list_blocks(mine, now))
            return
        if word.startswith("audit ") and is_reference(text[6:].strip()):
            try:
                reference, entries = await services.call(audit_trail, text[6:].strip(), person)
            except Refused as refused:
                await ack(text=refused.message)
                return
            await ack(
                text=f"Who has read or changed {reference}",
                blocks=messages.audit_blocks(reference, entries, ctx.policy),
            )
            return
        if word == "report" or word.startswith("report "):
            try:
                period = await services.call(period_asked, text.split()[1:])
                await services.call(ask_for_report, person, period)
            except Refused as refused:
                # Someone outside the partnership team learns nothing: the answer anyone gets for an unknown word.
                stranger = refused.reason == "not_allowed" or not ctx.is_partnership_member(person)
                await ack(text=not_ours(text) if stranger else refused.message)
                return
            services.outbox.wake()
            await ack(
                text=f"The themes report for {period.words} is on its way to your direct messages with me: the key "
                "charts and the workbook."
            )
            return
        if is_reference(text):
            try:
                case = await services.call(view_case, text, person)
            except Refused as refused:
                await ack(text=refused.message)
                return
            card_text, blocks = messages.case_card(case, now, actions_for(ctx, case, person, documents=True))
            await ack(text=card_text, blocks=blocks)
            return
        if AGENCY_REFERENCE.match(text):
            cases = await services.call(cases_with_agency_reference, text, person)
            if len(cases) == 1:
                card_text, blocks = messages.case_card(
                    cases[0], now, actions_for(ctx, cases[0], person, documents=True)
                )
                await ack(text=card_text, blocks=blocks)
            elif cases:
                await ack(
                    text=f"Escalations with the case reference {text}",
                    blocks=messages.cases_blocks(
                        cases, now, f"Escalations with the case reference {messages.escape(text)}"
                    ),
                )
            else:
                await ack(text=not_ours(text))
            return
        await ack(text="I did not understand that. Type `/escalate` to raise an escalation, or `/escalate help`.")
