"""The outbox delivers to people in Teams through the SDK: to their personal chat, retried on 429 and 5xx and
never sent twice, a failure for good where the app is not installed for them, cards redrawn in place."""

from datetime import timedelta

from sqlmodel import select

from bot.teams.delivery import NOT_INSTALLED
from flows import escalations as lifecycle
from flows import topics
from storage.models import DeliveryStatus, OutboxMessage
from tests.conftest import a_form, redraw_every_copy
from tests.teams.conftest import PEOPLE
from tests.teams.test_personal_chat import teams_ref


def raise_case(running, professional: str = "mash"):
    return lifecycle.open_escalation(
        running.ctx,
        teams_ref("teacher"),
        a_form(professionals=[teams_ref(professional)]),
        child_at_immediate_risk=False,
        discussed_with_manager=True,
    )


def outbox(running) -> list[OutboxMessage]:
    with running.ctx.db.transaction() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def cards_for(running, key: str) -> list:
    return [a for a in running.standin.sent_to_user(PEOPLE[key]) if a.cards]


async def installed(running, *keys: str) -> None:
    for key in keys:
        await running.teams.install(PEOPLE[key])
    running.standin.activities.clear()  # the welcome cards
    running.standin.calls.clear()


async def test_the_raiser_and_the_named_professional_get_their_cards_in_teams(running):
    await installed(running, "teacher", "mash")
    case = raise_case(running)
    await running.bot.outbox.drain()
    (teacher_card,) = cards_for(running, "teacher")
    (mash_card,) = cards_for(running, "mash")
    assert case.reference in str(teacher_card.cards) and case.reference in str(mash_card.cards)
    assert all(m.status == DeliveryStatus.SENT for m in outbox(running))
    assert running.standin.tokens_issued == 1, "the bot's token is asked for once and used until near its end"


async def test_429_and_5xx_are_tried_again_and_nothing_arrives_twice(running):
    await installed(running, "teacher", "mash")
    running.standin.fail_next = [429, 503, 502]
    raise_case(running)
    await running.bot.outbox.drain()
    assert [c.status for c in running.standin.calls][:4] == [429, 503, 502, 201]
    assert running.sleeps == [0.0, 1.0, 2.0]  # Retry-After: 0, then growing gaps (never slept by the test)
    assert len(cards_for(running, "teacher")) == 1 and len(cards_for(running, "mash")) == 1
    assert [(m.status, m.attempts) for m in outbox(running)] == [(DeliveryStatus.SENT, 1)] * 2


async def test_what_still_fails_after_the_retries_is_sent_later_by_the_outbox_once(running):
    await installed(running, "teacher", "mash")
    running.standin.fail_next = [503] * 5  # the first send and its four retries
    raise_case(running)
    await running.bot.outbox.drain()
    assert cards_for(running, "teacher") == [] and cards_for(running, "mash") == []  # in order: the case waits
    first = outbox(running)[0]
    assert (first.status, first.last_error) == (DeliveryStatus.PENDING, "teams 503")
    running.clock.advance(timedelta(minutes=2))
    await running.bot.outbox.drain()
    assert len(cards_for(running, "teacher")) == 1 and len(cards_for(running, "mash")) == 1
    assert all(m.status == DeliveryStatus.SENT for m in outbox(running))


async def test_someone_without_the_app_is_a_failure_for_good_the_raiser_and_the_partnership_are_told(running):
    await installed(running, "teacher")  # Gita has never installed the app
    raise_case(running, professional="gp")
    await running.bot.outbox.drain()
    refused = [c for c in running.standin.calls if c.path.endswith("/v3/conversations")]
    assert [c.status for c in refused] == [403], "Teams was asked to open the chat, and refused"
    assert running.standin.sent_to_user(PEOPLE["gp"]) == []
    invitation = next(m for m in outbox(running) if m.topic == topics.INVITED_TO_TALK)
    assert (invitation.status, invitation.last_error) == (DeliveryStatus.FAILED, NOT_INSTALLED)
    assert any(m.topic == topics.DELIVERY_FAILED for m in outbox(running))
    # The raiser is asked to pass the invitation on by hand, saying why the bot could not.
    (by_hand,) = [a for a in running.standin.sent_to_user(PEOPLE["teacher"]) if "Please contact" in str(a.cards)]
    assert "Gita Rao" in str(by_hand.cards) and NOT_INSTALLED in str(by_hand.cards)


async def test_the_chat_is_opened_for_someone_who_has_the_app_but_never_wrote(running):
    await installed(running, "teacher")
    running.standin.install_for(PEOPLE["mash"])  # installed by an administrator: the bot was never told
    raise_case(running)
    await running.bot.outbox.drain()
    assert len(cards_for(running, "mash")) == 1


async def test_every_teams_copy_of_the_card_is_redrawn_in_place(running):
    await installed(running, "teacher", "mash")
    case = raise_case(running)
    await running.bot.outbox.drain()
    (copy,) = cards_for(running, "teacher")
    assert "Withdrawn" not in str(copy.cards)
    lifecycle.withdraw(
        running.ctx, case.reference, teams_ref("teacher"), version=case.version, reason="Agreed by phone."
    )
    await running.bot.outbox.drain()
    assert len(copy.history) == 1 and "Withdrawn" in str(copy.cards)  # the same activity, updated
    # And the notice that it was withdrawn; then, as the raising side's holder, the record for the school's file
    # offered by a file consent card (tests/teams/test_paperwork_in_teams.py accepts one).
    told = [str(a.cards) for a in cards_for(running, "teacher")]
    assert len(told) == 2 and "withdrawn" in told[1]
    offered = [a["name"] for _, a in running.standin.consent_cards(PEOPLE["teacher"])]
    assert offered == [f"{case.reference}-record-raising.docx"]


async def test_a_redraw_that_changes_nothing_is_not_sent_to_teams(running):
    await installed(running, "teacher", "mash")
    case = raise_case(running)
    await running.bot.outbox.drain()

    # The first redraw keeps the notice's words as a plain lead: a change, sent.
    redraw_every_copy(running.ctx, case.id)
    await running.bot.outbox.drain()
    assert [c for c in running.standin.calls if c.method == "PUT"]
    running.standin.calls.clear()
    redraw_every_copy(running.ctx, case.id)  # nothing changed since
    await running.bot.outbox.drain()
    assert not [c for c in running.standin.calls if c.method == "PUT"]
    assert {m.status for m in outbox(running)} == {DeliveryStatus.SENT}


async def test_the_connector_refuses_what_teams_refuses(running):
    """The stand-in refuses as Teams does, through the bot's own SDK client."""
    import httpx
    import pytest
    from microsoft_teams.api import MessageActivityInput

    from bot.teams.cards import as_card, card

    app = running.bot.teams.app
    await installed(running, "teacher")
    chat = running.standin.personal_conversation(PEOPLE["teacher"]).id
    service = running.standin.service_url
    cases = [
        ("19:no-such-channel@thread.tacv2", MessageActivityInput(text="hi"), 404),
        (chat, MessageActivityInput(text="hi", id="123"), 404),  # an update to an activity that does not exist
        (chat, MessageActivityInput().add_card(as_card(card([{"type": "TextBlock"}]))), 400),  # TextBlock needs text
        (
            chat,
            MessageActivityInput().add_card(as_card(dict(card([]), version="1.6"))),
            400,
        ),  # newer than Teams renders
    ]
    for conversation, activity, status in cases:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await app.send(conversation, activity, service_url=service)
        assert refused.value.response.status_code == status
    assert running.standin.activities == []


async def test_a_channel_post_and_its_thread_replies(running):
    """What the CSCP channel will need: a post, replies in its thread (the SDK's reply), and no reply to a post
    that does not exist."""
    import httpx
    import pytest

    from tests.teams.conftest import CSCP_CHANNEL

    app, service = running.bot.teams.app, running.standin.service_url
    post = await app.send(CSCP_CHANNEL, "ESC-2026-0001 has reached Stage 3", service_url=service)
    reply = await app.reply(CSCP_CHANNEL, post.id, "Stage 4 has started", service_url=service)
    posted, replied = running.standin.sent_to(CSCP_CHANNEL)
    assert (posted.id, posted.reply_to_id) == (post.id, "") and (replied.id, replied.reply_to_id) == (reply.id, post.id)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await app.reply(CSCP_CHANNEL, "999", "to nothing", service_url=service)
    assert refused.value.response.status_code == 404
