"""Delivery of the outbox: retried through Slack's failures, never lost, never sent twice."""

from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.standin.server import BlockKitError, validate_blocks, validate_view
from storage.models import OutboxMessage
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.test_escalate_end_to_end import FORM, press, raise_case


async def deliver_everything(running):
    """Deliver; where something waits for its next try, move the clock on to it."""
    for _ in range(30):
        await running.deliver()
        with running.ctx.db.transaction() as session:
            waiting = session.exec(select(OutboxMessage).where(OutboxMessage.status.in_(["pending", "sending"]))).all()
        if not waiting:
            return
        running.clock.advance(timedelta(hours=1))
    raise AssertionError("messages still undelivered")


def sent_log(running):
    """What ended up in Slack: one line per message, in channel order."""
    return sorted((m.channel, m.thread_ts is not None, (m.text or "")[:60]) for m in running.standin.messages)


async def run_case_to_resolution(running):
    await raise_case(running)
    await deliver_everything(running)
    for who, holder in (("teacher", "head"), ("head", "service_manager")):
        await press(running, who, "case_escalate", {"reason": "r", "next_holders": [PEOPLE[holder].id]})
        await deliver_everything(running)
    await press(
        running,
        "service_manager",
        "case_resolve",
        {
            "outcome_kind": "decision_upheld",
            "decision_outcome": "Upheld after a joint meeting.",
            "key_learning": "Meet early.",
            "outcome_date": "2026-04-01",
            "concerns": "Thresholds.",
            "nothing_outstanding": ["yes"],
        },
    )
    await deliver_everything(running)


async def test_with_30_percent_of_calls_failing_everything_arrives_exactly_once(running):
    running.standin.failure_rate = 0.3
    await run_case_to_resolution(running)
    assert running.standin.failures_injected > 10
    log = sent_log(running)
    # Each message once: no line appears twice.
    assert len(log) == len(set(log)), [line for line in log if log.count(line) > 1]
    assert len(running.cscp_posts()) == 1
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=running.cscp_posts()[0].ts)
    # Stage 3 started, with its notification form; resolved, with the final form.
    assert [(m.text.split(".*")[0], len(m.files)) for m in thread] == [
        ("*Stage 3 (Service managers) started", 1),
        ("*Resolved at Stage 3", 1),
    ]
    assert_direct_messages(running)
    # Every copy of the card shows its final state despite the failures: the last holders' the outcome, the
    # earlier holders' settled as the case moved on from them.
    for who in ("mash", "service_manager"):
        assert "Resolved at Stage 3" in str(running.dms(who)[0].blocks), who
    for who in ("teacher", "head"):
        assert "The escalation has moved on" in str(running.dms(who)[0].blocks), who
    with running.ctx.db.transaction() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_the_same_case_without_failures_sends_the_same_messages(running):
    await run_case_to_resolution(running)
    assert running.standin.failures_injected == 0
    assert len(running.cscp_posts()) == 1
    assert_direct_messages(running)


def assert_direct_messages(running):
    # Raiser: card + resolution notice; each holder: card + notice; the MASH worker: invitation card, two
    # requests to name MASH's holder (Stages 2 and 3, never named here) + notice. Each side's last holder (the
    # service manager; the MASH worker, acting for MASH) has the record for their agency's file with the notice.
    for who, count, records in (("teacher", 2, 0), ("mash", 4, 1), ("head", 2, 0), ("service_manager", 2, 1)):
        assert len(running.dms(who)) == count, who
        assert "was resolved at Stage 3" in running.dms(who)[-1].text, who
        assert len(running.dms(who)[-1].files) == records, who


async def test_a_permanent_failure_is_recorded_and_shown_to_the_cscp_team(running):
    # A professional Slack cannot message (gone from the workspace): their invitation fails for good.
    del running.standin.users[PEOPLE["mash"].id]
    await raise_case(running)
    await deliver_everything(running)
    with running.ctx.db.transaction() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert [(m.topic, m.last_error) for m in failed] == [("invited_to_talk", "channel_not_found")]
    notices = [m for m in running.standin.messages_in(CSCP_CHANNEL) if "could not be delivered" in m.text]
    assert len(notices) == 1 and "ESC-2026-0001" in notices[0].text
    home = await running.slack.open_home(PEOPLE["cscp"].id)
    assert "Messages not delivered" in str(home["blocks"])


async def test_a_message_is_marked_sent_only_after_slack_says_ok(running):
    user = PEOPLE["teacher"].id
    await running.slack.command(user)
    await running.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "yes"})
    running.standin.failure_rate = 1.0  # Slack goes down as the form is submitted
    reply = await running.slack.submit(user, FORM)
    assert reply.body["response_action"] == "update"  # the case is open all the same
    await running.deliver()
    with running.ctx.db.transaction() as session:
        rows = session.exec(select(OutboxMessage)).all()
    # Nothing counts as sent; what was tried is waiting for its next try, with the error kept.
    assert rows and "sent" not in {m.status for m in rows}
    assert any(m.attempts >= 1 and m.last_error for m in rows)
    running.standin.failure_rate = 0.0  # Slack is back
    await deliver_everything(running)
    assert len(running.dms("teacher")) == 1 and len(running.dms("mash")) == 1


class TestTheStandinRefusesWhatSlackWould:
    def test_invalid_block_kit(self):
        for blocks in (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            [{"type": "no_such_block"}],
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        ):
            try:
                validate_blocks(blocks)
            except BlockKitError:
                continue
            raise AssertionError(f"accepted {blocks}")
        try:
            validate_view({"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []})
        except BlockKitError:
            pass
        else:
            raise AssertionError("accepted a modal title over 24 characters")

    async def test_unknown_method_missing_scope_and_used_trigger(self, running):
        client = running.bot.app.client
        standin = running.standin

        async def error_of(method, **args):
            with pytest.raises(SlackApiError) as error:
                await client.api_call(method, json=args)
            return error.value.response["error"]

        assert await error_of("chat.scheduleMessage", channel="C1", text="x", post_at=1) == "unknown_method"
        standin.scopes.discard("chat:write")
        assert await error_of("chat.postMessage", channel=CSCP_CHANNEL, text="x") == "missing_scope"
        standin.scopes.add("chat:write")
        trigger = standin.new_trigger_id(PEOPLE["teacher"].id)
        view = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "t"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}],
        }
        assert (await client.views_open(trigger_id=trigger, view=view))["ok"]
        assert await error_of("views.open", trigger_id=trigger, view=view) == "invalid_trigger_id"
        bad = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "t"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        }
        assert (
            await error_of("views.open", trigger_id=standin.new_trigger_id(PEOPLE["teacher"].id), view=bad)
            == "invalid_blocks"
        )
