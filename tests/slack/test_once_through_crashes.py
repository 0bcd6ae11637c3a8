"""Once means once through a crash: a message Slack posted but the bot never recorded is found, not
posted again; a fresh message is posted without looking. (A real killed process: tests/bot/test_crash_recovery.py.)"""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.outbox import LEASE, Outbox
from bot.slack.recovery import EVENT_TYPE
from flows import escalations as lifecycle
from storage.models import ChatMessage, OutboxMessage
from tests.conftest import DIRECTOR, SERVICE_MANAGER, TEACHER, TEACHER_MANAGER, a_form
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.test_delivery import run_case_to_resolution

LOOK_UPS = ("conversations.history", "conversations.replies", "conversations.open")


def outbox_ids_posted(standin) -> Counter:
    """How many times each (outbox id, whether a thread reply) was posted, from the messages' metadata."""
    return Counter(
        (m.metadata["event_payload"]["outbox_id"], m.thread_ts is not None)
        for m in standin.messages
        if m.metadata and m.metadata["event_type"] == EVENT_TYPE
    )


def look_ups(standin) -> list:
    return [c for c in standin.calls if c.method in LOOK_UPS]


def rows(running) -> dict[int, OutboxMessage]:
    with running.ctx.db.transaction() as session:
        return {row.id: row for row in session.exec(select(OutboxMessage)).all()}


@pytest.fixture
async def quiet(running):
    """The bot with its delivery loop stopped: each test says when messages go."""
    async with running.bot.outbox._lock:  # between passes, so no work of the loop is left in a thread
        running._worker.cancel()
        await asyncio.gather(running._worker, return_exceptions=True)
    return running


def another_start(running, instance_id: str | None = None) -> Outbox:
    """The outbox as another start of this instance (same name, new nonce), or as another instance."""
    bot_outbox = running.bot.outbox
    return Outbox(running.ctx, bot_outbox.sender, instance_id=instance_id or bot_outbox.instance_id)


async def dies_once_slack_has_acted(running, outbox: Outbox, on_the_call) -> None:
    """Deliver with `outbox` until Slack has acted on the call `on_the_call(method, args)` picks; then
    that outbox dies: the answer never reaches it and nothing more is recorded."""
    acted, release = asyncio.Event(), asyncio.Event()

    async def hold(method, args, body):
        if body.get("ok") and on_the_call(method, args) and not acted.is_set():
            acted.set()
            await release.wait()

    running.standin.after_acting = hold
    delivering = asyncio.create_task(outbox.deliver_pending())
    await asyncio.wait_for(acted.wait(), 10)
    delivering.cancel()
    await asyncio.gather(delivering, return_exceptions=True)
    running.standin.after_acting = None
    release.set()


def open_case(running):
    return lifecycle.open_escalation(
        running.ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )


def to_stage_3(running, case):
    for actor, holder in ((TEACHER, TEACHER_MANAGER), (TEACHER_MANAGER, SERVICE_MANAGER)):
        case = lifecycle.escalate(
            running.ctx, case.reference, actor, version=case.version, reason="r", next_holders=[holder]
        )
    return case


def post_to(channel, *, in_thread=None):
    def picks(method, args):
        return (
            method == "chat.postMessage"
            and args.get("channel") == channel
            and (in_thread is None or bool(args.get("thread_ts")) == in_thread)
        )

    return picks


async def test_fresh_messages_are_posted_tagged_with_their_outbox_id_and_never_looked_up(running):
    await run_case_to_resolution(running)
    assert not look_ups(running.standin)
    posted = outbox_ids_posted(running.standin)
    assert all(n == 1 for n in posted.values()), posted
    sent = rows(running)
    # Every post carries its row's id: the people's and the channel's messages, not the card refreshes. A file
    # share cannot carry metadata: the paperwork's rows are the rest (each found by its files' titles).
    files = [m for m in running.standin.messages if m.files]
    assert len(running.standin.messages) == len(posted) + len(files) and len(files) == 4
    assert {sent[i].audience for i, _ in posted} == {"person", "partnership"}
    documents = {i for i, row in sent.items() if row.topic == "document" or "document" in row.payload}
    assert len(documents) == len(files)
    # (the first of the partnership's rows posts the case's post too, before its reply with the form)
    assert {i for i, row in sent.items() if row.audience != "cards"} == {i for i, _ in posted} | documents


async def test_a_restarted_instance_finds_the_card_its_last_start_posted_and_updates_it_in_place(quiet):
    running = quiet
    case = open_case(running)
    mash = PEOPLE["mash"].id
    await dies_once_slack_has_acted(running, another_start(running), post_to(mash))
    [in_doubt] = [r for r in rows(running).values() if r.status == "sending"]
    assert running.standin.messages_in("D" + mash)  # Slack has it; the bot has no record of it

    await running.deliver()  # at once: no lease to wait out for its own earlier start
    assert [c.method for c in look_ups(running.standin)] == ["conversations.open", "conversations.history"]
    assert rows(running)[in_doubt.id].status == "sent"
    [card] = running.dms("mash")
    assert card.metadata["event_payload"] == {"outbox_id": in_doubt.id}
    with running.ctx.db.transaction() as session:
        assert session.exec(select(ChatMessage.message_id).where(ChatMessage.channel == "D" + mash)).all() == [card.ts]
    # Remembered where it is, so the next change updates that card rather than sending another.
    lifecycle.correct_details(
        running.ctx,
        case.reference,
        TEACHER,
        field_name="decision_disagreed",
        value="MASH closed the referral on 25 March.",
    )
    await running.deliver()
    [card] = running.dms("mash")
    assert card.history and "closed the referral on 25 March" in str(card.blocks)
    assert all(n == 1 for n in outbox_ids_posted(running.standin).values())


def file_shared(method, args):
    return method == "files.completeUploadExternal"


@pytest.mark.parametrize("crash_at", ["the case's post", "its thread reply, with the form"])
async def test_a_crash_in_the_cscp_channel_leaves_one_post_and_one_reply(quiet, crash_at):
    """A file share carries no metadata: after a crash, the restarted instance looks for the reply with the form by
    the form's title, and shares it only if Slack does not have it."""
    running = quiet
    case = open_case(running)
    await running.deliver()
    case = to_stage_3(running, case)
    in_thread = crash_at != "the case's post"
    await dies_once_slack_has_acted(
        running, another_start(running), file_shared if in_thread else post_to(CSCP_CHANNEL, in_thread=False)
    )
    await running.deliver()
    [post] = running.cscp_posts()
    replies = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert [len(m.files) for m in replies] == [1]  # Stage 3 started, with the notification form
    assert len(running.standin.ok_calls("files.completeUploadExternal")) == 1
    assert "conversations.replies" in [c.method for c in look_ups(running.standin)]  # looked before sharing
    assert all(n == 1 for n in outbox_ids_posted(running.standin).values())
    assert {r.status for r in rows(running).values()} == {"sent"}
    # The thread was found and recorded: the next stage's reply goes into it, the post is updated.
    lifecycle.escalate(
        running.ctx,
        case.reference,
        SERVICE_MANAGER,
        version=case.version,
        reason="r",
        next_holders=[DIRECTOR],
        concerns="c",
        decision_outcome="d",
        key_learning="k",
    )
    await running.deliver()
    assert len(running.cscp_posts()) == 1
    # Each stage: its reply, with its notification form.
    assert [len(m.files) for m in running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)] == [1, 1]


async def test_a_claim_that_died_before_posting_is_looked_for_then_posted_once(quiet):
    running = quiet
    open_case(running)
    first = min(rows(running))
    assert [p.id for p in another_start(running)._claim(limit=1)] == [first]  # claimed, then the process died
    await running.deliver()
    assert [c.method for c in look_ups(running.standin)] == ["conversations.open", "conversations.history"]
    assert len(running.dms("teacher")) == 1 and len(running.dms("mash")) == 1
    assert {r.status for r in rows(running).values()} == {"sent"}


async def test_another_instances_claim_is_left_alone_until_its_lease_ends(quiet):
    running = quiet
    case = open_case(running)
    await dies_once_slack_has_acted(running, another_start(running, "another-host"), post_to(TEACHER.user_id))
    later_rows = [r.id for r in rows(running).values() if r.status == "pending"]
    assert later_rows  # the invitation to the MASH worker, after the raiser's card

    await running.deliver()
    # That instance may still be sending: nothing of this case goes before its claim is over.
    assert not look_ups(running.standin) and len(running.standin.messages) == 1
    assert {rows(running)[i].status for i in later_rows} == {"pending"}

    running.clock.advance(LEASE + timedelta(seconds=1))
    await running.deliver()
    assert len(running.dms("teacher")) == 1 and len(running.dms("mash")) == 1
    assert {r.status for r in rows(running).values()} == {"sent"}
    assert case.reference in str(running.dms("teacher")[0].blocks)


async def test_without_the_history_scopes_an_old_install_still_delivers(quiet):
    """An install from before the history scopes cannot look: it sends again, as before."""
    running = quiet
    open_case(running)
    running.standin.scopes -= {"im:history", "im:write"}
    assert another_start(running)._claim(limit=1)
    await running.deliver()
    assert {r.status for r in rows(running).values()} == {"sent"}
    assert len(running.dms("teacher")) == 1


async def test_a_crash_after_the_words_went_without_their_refused_document_sends_nothing_more(quiet):
    """Slack refused the form for good, the words went alone, and the bot died before recording it. Even with the
    scope back, the restarted instance finds those words by the row's id and neither says them again nor adds
    the form: the failure stands, reported once."""
    running = quiet
    case = open_case(running)
    await running.deliver()
    running.standin.scopes.discard("files:write")
    to_stage_3(running, case)
    await dies_once_slack_has_acted(running, another_start(running), post_to(CSCP_CHANNEL, in_thread=True))
    running.standin.scopes.add("files:write")
    await running.deliver()
    post = running.cscp_posts()[0]  # then the notice of what could not be delivered
    replies = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert [r.text.split(".*")[0] for r in replies] == ["*Stage 3 (Service managers) started"]
    assert "could not be attached here" in replies[0].text and not replies[0].files
    assert not running.standin.ok_calls("files.completeUploadExternal")
    failed = [r for r in rows(running).values() if r.status == "failed"]
    assert [(r.topic, r.last_error) for r in failed] == [
        ("stage_started", "refused by Slack on an earlier try: the Escalation Notification Form could not be attached")
    ]
    notices = [m for m in running.standin.messages_in(CSCP_CHANNEL) if "could not be delivered" in m.text]
    assert len(notices) == 1
