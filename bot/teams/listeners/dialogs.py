"""Raising an escalation in Teams: a dialog with the policy's two gate questions, then the form, both from
flows.forms. It opens from the welcome card's button, a card's "Raise an escalation", and the message
extension's action command in the compose box; each submit answers with the next card, or the same card with
the refusal under the field that is wrong."""

from __future__ import annotations

import uuid

from microsoft_teams.api import (
    Attachment,
    CardTaskModuleTaskInfo,
    MessageExtensionFetchTaskInvokeActivity,
    MessageExtensionSubmitActionInvokeActivity,
    MessagingExtensionActionResponse,
    TaskFetchInvokeActivity,
    TaskModuleContinueResponse,
    TaskModuleResponse,
    TaskSubmitInvokeActivity,
)
from microsoft_teams.apps import ActivityContext, App

from bot.teams import cards
from bot.teams.answers import answers_of, at_field, typed
from bot.teams.services import TeamsServices
from flows import forms
from flows.errors import Refused
from flows.queries import remembered_role_and_agency

# The dialog's two steps: each card's submit button says which step it is.
GATE, RAISE = "gate", "raise"


def _submit(title: str, action: str, **data) -> dict:
    return {"type": "Action.Submit", "title": title, "data": {"action": action, **data}}


def _dialog(content: dict, title: str = "Raise an escalation") -> TaskModuleContinueResponse:
    attachment = Attachment(content_type="application/vnd.microsoft.card.adaptive", content=content)
    return TaskModuleContinueResponse(value=CardTaskModuleTaskInfo(title=title, card=attachment, width="large"))


def gate_card() -> dict:
    form = forms.gate_form()
    return cards.form_card(form, _submit(form.submit, GATE))


def notice_card(form: forms.Form) -> dict:
    return cards.form_card(form, None)


def register(app: App, services: TeamsServices) -> None:
    ctx = services.ctx

    async def next_step(turn, data: dict) -> dict:
        """The card that follows a submitted step of the raise dialog."""
        person = await services.directory.person(turn)
        if data.get("action") == GATE:
            guidance = forms.after_gate(ctx.policy, data)
            if guidance is not None:
                return notice_card(guidance)  # nothing is stored
            role, agency = await services.call(remembered_role_and_agency, person)
            form = forms.raise_form(ctx.policy, role, agency)
            # The gate's answers travel with the form, so the engine checks them again; the key makes a repeated
            # submit of this form answer with the case it opened.
            gate = {key: data.get(key) for key in forms.GATE_FIELDS}
            return cards.form_card(form, _submit(form.submit, RAISE, key=uuid.uuid4().hex, **gate))
        form = forms.raise_form(ctx.policy)
        answers = await answers_of(form, data, services.directory, turn)
        key = data.get("key") if isinstance(data.get("key"), str) else None
        try:
            case = await services.call(
                forms.raise_escalation, person, answers, submission_key=f"teams:{key}" if key else None
            )
        except Refused as refused:
            gate = {k: data.get(k) for k in forms.GATE_FIELDS}
            return cards.form_card(
                form,
                _submit(form.submit, RAISE, key=key or uuid.uuid4().hex, **gate),
                values=typed(form, data),
                errors=at_field(form, refused),
            )
        services.outbox.wake()
        return notice_card(forms.raised_notice(case, ctx.clock.now()))

    @app.on_dialog_open(cards.RAISE_DIALOG)
    async def raise_opened(turn: ActivityContext[TaskFetchInvokeActivity]) -> TaskModuleResponse:
        return TaskModuleResponse(task=_dialog(gate_card()))

    @app.on_dialog_submit(GATE)
    async def gate_submitted(turn: ActivityContext[TaskSubmitInvokeActivity]) -> TaskModuleResponse:
        return TaskModuleResponse(task=_dialog(await next_step(turn, turn.activity.value.data or {})))

    @app.on_dialog_submit(RAISE)
    async def form_submitted(turn: ActivityContext[TaskSubmitInvokeActivity]) -> TaskModuleResponse:
        return TaskModuleResponse(task=_dialog(await next_step(turn, turn.activity.value.data or {})))

    @app.on_message_ext_open
    async def extension_opened(turn: ActivityContext[MessageExtensionFetchTaskInvokeActivity]):
        return MessagingExtensionActionResponse(task=_dialog(gate_card()))

    @app.on_message_ext_submit
    async def extension_submitted(turn: ActivityContext[MessageExtensionSubmitActionInvokeActivity]):
        data = turn.activity.value.data or {}
        return MessagingExtensionActionResponse(task=_dialog(await next_step(turn, data)))
