"""Raising an escalation: the two gates the policy sets, then the form."""

from __future__ import annotations

import asyncio
import json

from slack_bolt.async_app import AsyncApp

from bot.slack import messages, payloads
from bot.slack.listeners.views.answers import refuse
from bot.slack.services import SlackServices, read_values
from flows.errors import Refused
from flows.escalations import EscalationForm, open_escalation
from flows.people import PersonRef
from flows.queries import remembered_role_and_agency


def register_raise_forms(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    @app.view(messages.GATE_VIEW)
    async def gate_submitted(ack, body, view):
        values = read_values(view)
        if values.get("immediate_risk") == "yes":
            # Nothing is stored: the person is told to act now.
            await ack(response_action="update", view=messages.immediate_risk_modal(ctx.policy))
            return
        if values.get("discussed_with_manager") != "yes":
            await ack(response_action="update", view=messages.discuss_first_modal())
            return
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        role, agency = await services.call(remembered_role_and_agency, person)
        form = messages.escalation_form_modal(ctx.policy, role, agency)
        # The gate's answers travel with the form, so the engine checks them again on submit.
        form["private_metadata"] = json.dumps(
            {
                "immediate_risk": values.get("immediate_risk"),
                "discussed_with_manager": values.get("discussed_with_manager"),
            }
        )
        await ack(response_action="update", view=form)

    @app.view(messages.FORM_VIEW)
    async def form_submitted(ack, body, view):
        values = read_values(view)
        gate = payloads.read_metadata(view.get("private_metadata"))
        directory = services.directory
        raiser, *professionals = await asyncio.gather(
            directory.person(body["user"]["id"], body["user"].get("name", "")),
            *(directory.person(user_id) for user_id in values.get("professionals", [])),
        )
        if values.get("professionals_name") or values.get("professionals_email"):
            professionals.append(
                PersonRef.by_email(values.get("professionals_name", ""), values.get("professionals_email", ""))
            )
        form = EscalationForm(
            child_initials=values.get("child_initials", ""),
            child_case_reference=values.get("child_case_reference", ""),
            level_of_need=values.get("level_of_need", ""),
            raiser_role=values.get("raiser_role", ""),
            raiser_agency=values.get("raiser_agency", ""),
            other_agency=values.get("other_agency", ""),
            themes=values.get("themes", []),
            key_dates=values.get("key_dates", ""),
            evidence_of_need=values.get("evidence_of_need", ""),
            decision_disagreed=values.get("decision_disagreed", ""),
            interventions_to_date=values.get("interventions_to_date", ""),
            outcome_wanted=values.get("outcome_wanted", ""),
            professionals=professionals,
            age_band=values.get("age_band", ""),
            gender=values.get("gender", ""),
            ethnicity=values.get("ethnicity", ""),
            send=values.get("send", ""),
        )
        immediate_risk = {"yes": True, "no": False}.get(gate.get("immediate_risk"))
        try:
            # One modal raises one case, however often it is submitted (Slack keeps the view id across updates).
            case = await services.call(
                open_escalation,
                raiser,
                form,
                child_at_immediate_risk=immediate_risk,
                discussed_with_manager=gate.get("discussed_with_manager") == "yes",
                submission_key=f"slack:{view['id']}" if view.get("id") else None,
            )
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack(response_action="update", view=messages.raised_modal(case, ctx.clock.now()))
        services.outbox.wake()
