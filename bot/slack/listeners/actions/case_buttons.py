"""The case card's buttons: each checks the person may act, then opens its form (or shows the case)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import messages
from bot.slack.failures import UNREADABLE_BUTTON, open_modal
from bot.slack.services import SlackServices
from flows import permissions as can
from flows.errors import Refused
from flows.escalations import check_action, roles_on, view_case
from flows.permissions import RAISING, RECEIVING, SIDE_ROLE
from flows.queries import history

# Actions whose form acts on the case as the reader saw it: a click on an older card changes nothing.
VERSIONED = {
    can.RESOLVE,
    can.PROPOSE_RESOLUTION,
    can.ANSWER_PROPOSAL,
    can.ESCALATE,
    can.WITHDRAW,
    can.EXECUTIVE_DECISION,
    can.REQUEST_CONSULTATION,
    can.NAME_HOLDER,
    can.HAND_OVER,
}


def form_for(ctx, action: str, case, person) -> dict:
    """The form for `action` on `case`, as `person` may fill it in."""
    today = case.policy.working_calendar.local_date(ctx.clock.now())
    roles = roles_on(ctx, case, person)
    own_sides = [side for side, role in SIDE_ROLE.items() if role in roles]
    partnership = can.PARTNERSHIP_TEAM in roles
    if action == can.NOTE:
        return messages.note_modal(case)
    if action in (can.RESOLVE, can.PROPOSE_RESOLUTION, can.EXECUTIVE_DECISION):
        return messages.outcome_modal(case, today, action)
    if action == can.ANSWER_PROPOSAL:
        return messages.answer_proposal_modal(case)
    if action == can.ESCALATE:
        return messages.escalate_modal(case, RECEIVING if own_sides == [RECEIVING] else RAISING)
    if action == can.ASK_TO_ESCALATE:
        return messages.ask_to_escalate_modal(case)
    if action == can.NAME_HOLDER:
        sides = [s for s in case.awaited_sides if s in own_sides or partnership]
        return messages.name_holder_modal(case, sides or list(case.awaited_sides))
    if action == can.WITHDRAW:
        return messages.withdraw_modal(case)
    if action == can.REQUEST_CONSULTATION:
        return messages.consultation_modal(case)
    if action == can.RECORD_CONSULTATION:
        return messages.record_consultation_modal(case)
    if action == can.CHASE:
        return messages.chase_modal(
            case, list(case.stage.holders) or [p for side in case.awaited_sides for p in case.acting_holders(side)]
        )
    if action == can.HAND_OVER:
        holders = [
            p for side in (RAISING, RECEIVING) if side in own_sides or partnership for p in case.stage.side(side)
        ]
        return messages.hand_over_modal(case, holders)
    if action == can.CORRECT_DETAILS:
        return messages.correct_modal(case)
    raise ValueError(f"no form for {action}")


def register_case_buttons(app: AsyncApp, services: SlackServices) -> None:
    ctx = services.ctx

    async def open_form(ack, body, action, client, context):
        await ack()
        reference, version = messages.read_action_value(action.get("value", ""))
        name = messages.ACTION_OF_BUTTON[action["action_id"]]
        person = await services.directory.person(body["user"]["id"], body["user"].get("name", ""))
        try:
            if not reference:
                raise Refused(UNREADABLE_BUTTON)
            if name == can.DETAILS:
                case = await services.call(view_case, reference, person)
                if action["action_id"] == messages.HISTORY_ACTION:
                    view = messages.history_modal(case, await services.call(history, case, person))
                else:
                    view = messages.details_modal(case)
            else:
                case = await services.call(
                    check_action, reference, person, name, version if name in VERSIONED else None
                )
                view = form_for(ctx, name, case, person)
        except Refused as refused:
            view = messages.notice_modal("Nothing was done", refused.message)
        await open_modal(client, body["trigger_id"], view, body["user"]["id"], context.channel_id)

    for action_id in messages.ACTION_OF_BUTTON:
        app.action(action_id)(open_form)
