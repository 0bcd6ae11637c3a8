"""The forms behind the card's buttons: note, resolved, escalate, withdraw, decision, consultation."""
from __future__ import annotations

import asyncio
from datetime import date

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.listeners.views.answers import refuse
from bot.slack.services import SlackServices, read_values
from flows import escalations as lifecycle
from flows.errors import Refused


def _date(value: str | None) -> date | None:
    return payloads.read_date(value)  # None when it is not an ISO date


def register_case_forms(app: AsyncApp, services: SlackServices) -> None:
    directory = services.directory

    async def submit(ack, body, view, run):
        reference, version = messages.read_action_value(view.get("private_metadata", ""))
        person = await directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            await run(person, reference, version, read_values(view))
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack()
        services.outbox.wake()

    @app.view(messages.NOTE_VIEW)
    async def note(ack, body, view):
        async def run(person, reference, version, values):
            await services.call(lifecycle.add_note, reference, person, values.get("note_text", ""),
                                values.get("note_kind") or "discussion")
        await submit(ack, body, view, run)

    async def outcome(ack, body, view, function):
        async def run(person, reference, version, values):
            await services.call(function, reference, person, version=version,
                                outcome_kind=values.get("outcome_kind", ""),
                                decision_outcome=values.get("decision_outcome", ""),
                                key_learning=values.get("key_learning", ""),
                                outcome_date=_date(values.get("outcome_date")))
        await submit(ack, body, view, run)

    @app.view(messages.RESOLVE_VIEW)
    async def resolve(ack, body, view):
        await outcome(ack, body, view, lifecycle.resolve)

    @app.view(messages.DECISION_VIEW)
    async def decision(ack, body, view):
        await outcome(ack, body, view, lifecycle.record_executive_decision)

    @app.view(messages.ESCALATE_VIEW)
    async def escalate(ack, body, view):
        async def run(person, reference, version, values):
            holders = await asyncio.gather(*(directory.person(u) for u in values.get("next_holders", [])))
            await services.call(lifecycle.escalate, reference, person, version=version,
                                reason=values.get("reason", ""), next_holders=list(holders),
                                decision_outcome=values.get("decision_outcome", ""),
                                key_learning=values.get("key_learning", ""))
        await submit(ack, body, view, run)

    @app.view(messages.WITHDRAW_VIEW)
    async def withdraw(ack, body, view):
        async def run(person, reference, version, values):
            await services.call(lifecycle.withdraw, reference, person, version=version,
                                reason=values.get("reason", ""))
        await submit(ack, body, view, run)

    @app.view(messages.CONSULTATION_VIEW)
    async def consultation(ack, body, view):
        async def run(person, reference, version, values):
            await services.call(lifecycle.request_reflective_consultation, reference, person, version=version,
                                note=values.get("consultation_note", ""))
        await submit(ack, body, view, run)
