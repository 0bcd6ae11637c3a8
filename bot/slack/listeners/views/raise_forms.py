"""Raising an escalation: the two gates the policy sets, then the form."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.listeners.views.answers import answers_of, refuse
from bot.slack.services import SlackServices, read_values
from flows import forms
from flows.errors import Refused
from flows.queries import remembered_role_and_agency


def register_raise_forms(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    @app.view(messages.GATE_VIEW)
    async def gate_submitted(ack, body, view):
        values = read_values(view)
        guidance = forms.after_gate(ctx.policy, values)
        if guidance is not None:
            # Nothing is stored: the person is told what to do instead.
            await ack(response_action="update", view=messages.form_view(guidance))
            return
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        role, agency = await services.call(remembered_role_and_agency, person)
        form = messages.form_view(forms.raise_form(ctx.policy, role, agency))
        # The gate's answers travel with the form, so the engine checks them again on submit.
        form["private_metadata"] = json.dumps({key: values.get(key) for key in forms.GATE_FIELDS})
        await ack(response_action="update", view=form)

    @app.view(messages.FORM_VIEW)
    async def form_submitted(ack, body, view):
        directory = services.directory
        raiser = await directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            # One modal raises one case, however often it is submitted (Slack keeps the view id across updates).
            case = await services.call(
                forms.raise_escalation,
                raiser,
                await answers_of(view, directory),
                submission_key=f"slack:{view['id']}" if view.get("id") else None,
            )
        except Refused as refused:
            await refuse(ack, refused, view)
            return
        await ack(response_action="update", view=messages.form_view(forms.raised_notice(case, ctx.clock.now())))
        services.outbox.wake()
