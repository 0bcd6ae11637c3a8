"""The forms behind the card's buttons: each turns the answers into one lifecycle call."""

from __future__ import annotations

import asyncio
from datetime import date

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.listeners.views.answers import refuse
from bot.slack.services import SlackServices, read_values
from flows import escalations as lifecycle
from flows import permissions as can
from flows.errors import Refused
from flows.escalations import ActionForm, OutcomeForm
from flows.people import PersonRef


def _date(value: str | None) -> date | None:
    return payloads.read_date(value)  # None when it is not an ISO date


def _person_key(value: str) -> PersonRef:
    platform, _, user_id = (value or "").partition("|")
    return PersonRef(platform, user_id)


def register_case_forms(app: AsyncApp, services: SlackServices) -> None:
    directory = services.directory

    async def people(user_ids) -> list[PersonRef]:
        return list(await asyncio.gather(*(directory.person(u) for u in user_ids or [])))

    async def one_person(user_id) -> PersonRef | None:
        return await directory.person(user_id) if user_id else None

    async def outcome(values) -> OutcomeForm:
        actions = []
        for row in range(1, messages.ACTION_ROWS + 1):
            actions.append(
                ActionForm(
                    values.get(f"action_{row}_what", ""),
                    await one_person(values.get(f"action_{row}_owner")),
                    _date(values.get(f"action_{row}_due")),
                )
            )
        return OutcomeForm(
            outcome_kind=values.get("outcome_kind", ""),
            concerns=values.get("concerns", ""),
            decision_outcome=values.get("decision_outcome", ""),
            key_learning=values.get("key_learning", ""),
            outcome_date=_date(values.get("outcome_date")),
            actions=actions,
            nothing_outstanding="yes" in (values.get("nothing_outstanding") or []),
        )

    # Each action's form: answers -> (lifecycle function, its keyword arguments).
    async def arguments(action: str, values: dict, version, metadata: dict):
        if action == can.NOTE:
            return lifecycle.add_note, dict(
                text=values.get("note_text", ""), kind=values.get("note_kind") or "discussion"
            )
        if action == can.RESOLVE:
            return lifecycle.resolve, dict(version=version, outcome=await outcome(values))
        if action == can.PROPOSE_RESOLUTION:
            return lifecycle.propose_resolution, dict(version=version, outcome=await outcome(values))
        if action == can.EXECUTIVE_DECISION:
            return lifecycle.record_executive_decision, dict(version=version, outcome=await outcome(values))
        if action == can.ANSWER_PROPOSAL:
            answer = {"accept": True, "decline": False}.get(values.get("answer"))
            return lifecycle.answer_proposal, dict(
                version=version, accept=answer, reason=values.get("decline_reason", "")
            )
        if action == can.ESCALATE:
            return lifecycle.escalate, dict(
                version=version,
                reason=values.get("reason", ""),
                next_holders=await people(values.get("next_holders")),
                other_side_holders=await people(values.get("other_side_holders")),
                concerns=values.get("concerns", ""),
                decision_outcome=values.get("decision_outcome", ""),
                key_learning=values.get("key_learning", ""),
            )
        if action == can.ASK_TO_ESCALATE:
            return lifecycle.ask_to_escalate, dict(reason=values.get("reason", ""))
        if action == can.NAME_HOLDER:
            return lifecycle.name_holder, dict(
                version=version,
                holders=await people(values.get("holders")),
                side=values.get("side", "") or payloads.text(metadata.get("side")) or None,
            )
        if action == can.WITHDRAW:
            return lifecycle.withdraw, dict(version=version, reason=values.get("reason", ""))
        if action == can.REQUEST_CONSULTATION:
            return lifecycle.request_reflective_consultation, dict(
                version=version, note=values.get("consultation_note", "")
            )
        if action == can.RECORD_CONSULTATION:
            return lifecycle.record_consultation, dict(
                version=None,
                arranged_for=_date(values.get("consultation_arranged_for")),
                held_on=_date(values.get("consultation_held_on")),
                agreed_actions=values.get("consultation_actions", ""),
            )
        if action == can.CHASE:
            return lifecycle.chase, dict(
                holder=_person_key(values.get("holder", "")), message=values.get("chase_message", "")
            )
        if action == can.HAND_OVER:
            to_person = await one_person(values.get("to_person"))
            if to_person is None:
                raise Refused("Choose who takes over.", field="to_person")
            return lifecycle.hand_over, dict(
                version=version, from_person=_person_key(values.get("from_person", "")), to_person=to_person
            )
        if action == can.CORRECT_DETAILS:
            return lifecycle.correct_details, dict(
                field_name=values.get("field_name", ""), value=values.get("value", "")
            )
        raise ValueError(f"no form for {action}")

    async def submitted(ack, body, view):
        action = messages.ACTION_OF_VIEW[view["callback_id"]]
        metadata = payloads.read_json(view.get("private_metadata"))
        metadata = metadata if isinstance(metadata, dict) else {}
        reference, version = payloads.read_action_value(view.get("private_metadata"))
        person = await directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            function, kwargs = await arguments(action, read_values(view), version, metadata)
            await services.call(function, reference, person, **kwargs)
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack()
        services.outbox.wake()

    for callback_id in messages.ACTION_OF_VIEW:
        if messages.ACTION_OF_VIEW[callback_id] != can.DETAILS:
            app.view(callback_id)(submitted)
