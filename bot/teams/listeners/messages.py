"""The personal chat with the bot: "list" for the person's cases, "escalate" to raise one, "report" for the CSCP
team's themes report, anything else the
welcome card; and the bot being installed, which is when it learns where to reach the person."""

from __future__ import annotations

import logging

from microsoft_teams.api import ConversationUpdateActivity, InstalledActivity, MessageActivity
from microsoft_teams.apps import ActivityContext, App

from bot.logs import describe
from bot.teams import cards
from bot.teams.directory import is_personal
from bot.teams.services import TeamsServices
from flows.errors import Refused
from flows.persons import choose_email_copies, email_copies
from flows.queries import my_cases
from flows.report_posts import ask_for_report, period_asked

log = logging.getLogger(__name__)


# What the person types to choose e-mail as well, or to stop it.
CHOICES = {word: action_id == "email_copies_on" for action_id, word in cards.EMAIL_COPIES_WORDS.items()}


def register(app: App, services: TeamsServices) -> None:
    async def welcome(person) -> dict:
        return cards.welcome_card(services.ctx.policy, await services.call(email_copies, person))

    async def report(person, words: list[str]) -> dict:
        """The CSCP team's themes report, asked for in the chat: checked and audited (a refusal too), then the
        workbook offered by a file consent card through the outbox. Anyone else gets the welcome card, as for any
        word the bot does not know."""
        try:
            period = await services.call(period_asked, words)
            await services.call(ask_for_report, person, period)
        except Refused as refused:
            if refused.reason == "not_allowed" or not services.ctx.is_partnership_member(person):
                return await welcome(person)
            return cards.card([cards.text(refused.message)])
        services.outbox.wake()
        return cards.card(
            [cards.text(f"The themes report for {period.words} is on its way to this chat: the workbook, to accept.")]
        )

    @app.on_message
    async def personal_message(turn: ActivityContext[MessageActivity]) -> None:
        if not is_personal(turn.activity):
            return  # a mention in a channel or group chat: nothing is said there yet
        try:
            person = await services.directory.person(turn)
            text = (turn.activity.text or "").strip()
            word = text.lower()
            if word == cards.REPORT_WORD or word.startswith(cards.REPORT_WORD + " "):
                content = await report(person, text.split()[1:])
            elif word == cards.LIST_WORD:
                mine = await services.call(my_cases, person)
                content = cards.my_cases_card(mine, services.ctx.clock.now())
            elif word == cards.RAISE_WORD:
                # A message cannot open a dialog: the button on this card does.
                content = cards.card(
                    [cards.text("Raise an escalation: the button opens the form.")], [cards.raise_button()]
                )
            elif word in CHOICES:
                try:
                    await services.call(choose_email_copies, person, CHOICES[word])
                    content = await welcome(person)
                except Refused as refused:
                    content = cards.card([cards.text(refused.message)])
            else:
                content = await welcome(person)
        except Exception as error:  # logged without its message: it may quote what the person typed
            log.error("answering a personal message failed: %s", describe(error))
            raise
        await turn.send(cards.as_card(content))

    @app.on_install_add
    async def installed(turn: ActivityContext[InstalledActivity]) -> None:
        if is_personal(turn.activity):
            await services.directory.person(turn)

    @app.on_conversation_update
    async def bot_added(turn: ActivityContext[ConversationUpdateActivity]) -> None:
        added = {member.id for member in turn.activity.members_added or []}
        if turn.activity.recipient.id not in added:
            return
        if not is_personal(turn.activity):
            # Added to a team: say where the CSCP posts would go, for the administrator to set.
            channel = turn.activity.conversation.id.partition(";")[0]
            if channel != services.partnership_channel:
                await turn.send(cards.as_card(cards.channel_card(channel)))
            return
        person = await services.directory.person(turn)
        await turn.send(cards.as_card(await welcome(person)))
