"""The case card's Action.Execute buttons (adaptiveCard/action). Universal Actions: each answer is the card the
person sees next, in place of the one they clicked. An action opens its form from flows.forms inside the card;
its submit acts through flows.forms.submit and answers with the card as it now stands (the outbox then redraws
everyone else's copy); "refresh" is Teams asking for the reader's current card."""

from __future__ import annotations

import asyncio
import logging

from microsoft_teams.api import AdaptiveCardActionCardResponse, AdaptiveCardInvokeActivity
from microsoft_teams.apps import ActivityContext, App

from bot.logs import describe
from bot.teams import cards
from bot.teams.answers import answers_of, at_field, typed
from bot.teams.directory import PLATFORM
from bot.teams.services import TeamsServices
from flows import cards as says
from flows import forms
from flows import permissions as can
from flows.errors import Refused
from flows.escalations import check_action, view_case
from flows.paperwork import send_document
from flows.people import PersonRef
from flows.posts import CARD, posts_of
from flows.queries import history
from flows.records import CaseView

log = logging.getLogger(__name__)


def _version(data: dict) -> int | None:
    value = data.get("v")
    return value if isinstance(value, int) else None


def register(app: App, services: TeamsServices) -> None:
    ctx = services.ctx

    async def current_card(case: CaseView, person: PersonRef, turn, problem: str = "") -> dict:
        """The reader's card as the case stands, with the words their message had above it."""
        posts = await asyncio.to_thread(posts_of, ctx, case.id, PLATFORM)
        # The words above the reader's latest copy: a refresh is of the card they are looking at, most often that.
        lead = next((p.lead for p in reversed(posts) if p.kind == CARD and p.reader and p.reader.key == person.key), "")
        found = await asyncio.to_thread(says.reader_card, ctx, case, person, ctx.clock.now())
        return cards.case_card(found, turn.activity.from_.id, lead, problem)

    def read_card(case: CaseView, heading: str, parts: list[tuple[str, list]], back: dict) -> dict:
        body = [cards.heading(f"{case.reference} · {heading}")]
        for title, lines in parts:
            body.append(cards.text(title, weight="Bolder", spacing="Medium"))
            body.append(cards.text("\n\n".join(cards.words(line) for line in lines), spacing="None"))
        return cards.card(body, [back])

    async def answer(turn: ActivityContext[AdaptiveCardInvokeActivity]) -> dict:
        action = turn.activity.value.action
        verb, _, name = (action.verb or "").partition(":")
        data = action.data or {}
        reference = data.get("r") if isinstance(data.get("r"), str) else ""
        person = await services.directory.person(turn)
        back = cards.execute("Back to the case", cards.REFRESH, {"r": reference, "v": _version(data)})
        try:
            if not reference:
                raise Refused("That button could not be read. Please use the latest card.")
            if verb == cards.REFRESH:
                return await current_card(await services.call(view_case, reference, person), person, turn)
            if verb == cards.OPEN and name == can.DETAILS:
                case = await services.call(view_case, reference, person)
                intro, parts = says.details(case)
                return read_card(case, "Details", [("The child", [intro]), *parts], back)
            if verb == cards.OPEN and name == says.HISTORY:
                case = await services.call(view_case, reference, person)
                lines = says.history_lines(case, await services.call(history, case, person))
                return read_card(case, "History", [("History", lines[-100:] or [("Nothing yet.",)])], back)
            if verb == cards.OPEN and name in can.DOCUMENTS:
                # Checked and audited now; the outbox offers it in the reader's chat by a file consent card.
                case = await services.call(send_document, reference, person, name)
                services.outbox.wake()
                return await current_card(case, person, turn)
            if name not in can.ACTIONS or verb not in (cards.OPEN, cards.SUBMIT):
                raise Refused("That button is not one of ours.")
            version = _version(data) if name in forms.VERSIONED_ACTIONS else None
            case = await services.call(check_action, reference, person, name, version)
            form = forms.case_form(ctx, name, case, person)
            submit = cards.execute(
                form.submit, f"{cards.SUBMIT}:{name}", {"r": form.reference, "v": form.version, "side": form.side}
            )
            if verb == cards.OPEN:
                return cards.form_card(form, submit, cancel=back)
            try:
                answers = await answers_of(form, data, services.directory, turn)
                case = await services.call(forms.submit, name, reference, person, _version(data), answers)
            except Refused as refused:
                errors = at_field(form, refused)
                return cards.form_card(form, submit, values=typed(form, data), errors=errors, cancel=back)
            services.outbox.wake()
            return await current_card(case, person, turn)
        except Refused as refused:
            try:
                case = await services.call(view_case, reference, person)
            except Refused:
                return cards.card([cards.text(refused.message, color="Attention")])
            return await current_card(case, person, turn, problem=refused.message)
        except Exception as error:  # logged without its message: it may quote what the person typed
            log.error("a card action failed: %s", describe(error))
            raise

    @app.on_card_action_execute
    async def executed(turn: ActivityContext[AdaptiveCardInvokeActivity]) -> AdaptiveCardActionCardResponse:
        return AdaptiveCardActionCardResponse(value=cards.as_card(await answer(turn)))
