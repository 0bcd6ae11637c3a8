"""Requests are signed as Slack signs them; a bad signature or an old timestamp gets 401."""

import hashlib
import hmac
import time

import pytest
from sqlmodel import select

from storage.models import AuditEvent, Escalation
from tests.slack.conftest import PEOPLE
from tests.slack.harness import SIGNING_SECRET, slack_signature


def test_the_signer_matches_slacks_documented_example():
    # From Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        slack_signature(secret, "1531420618", body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def _nothing_changed(running):
    with running.ctx.db.transaction() as session:
        return not session.exec(select(Escalation)).all() and not session.exec(select(AuditEvent)).all()


async def test_a_bad_signature_gets_401_and_changes_nothing(running):
    body = "command=%2Fescalate&text=help&user_id=" + PEOPLE["teacher"].id
    reply = await running.slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert reply.status == 401
    assert _nothing_changed(running)
    assert not running.standin.ok_calls("views.open")


async def test_a_timestamp_older_than_five_minutes_gets_401(running):
    body = "command=%2Fescalate&text=help&user_id=" + PEOPLE["teacher"].id
    old = int(time.time()) - 6 * 60
    reply = await running.slack.post(body, "application/x-www-form-urlencoded", timestamp=old)
    assert reply.status == 401
    assert _nothing_changed(running)


async def test_a_correctly_signed_request_is_answered(running):
    reply = await running.slack.command(PEOPLE["teacher"].id, "help")
    assert reply.status == 200
    assert "Stage 5: CSCP Executive" in str(reply.body)


async def _post_with_headers(running, body: bytes, headers: dict) -> int:
    async with running.slack.session.post(running.slack.bot_url, data=body, headers=headers) as response:
        return response.status


@pytest.mark.parametrize(
    "timestamp, signature",
    [
        ("abc", None),  # slack_sdk would call int() on it
        ("", None),
        ("1e9", None),
        ("٣", None),  # a digit to int(), but not Slack's
        ("9" * 5000, None),  # too long for int()
        (None, "v0=" + "0" * 64),  # a forged signature
        (None, "not-a-signature"),
    ],
)
async def test_a_forged_or_malformed_signature_gets_401_and_reaches_no_listener(running, timestamp, signature):
    body = "command=%2Fescalate&text=&user_id=" + PEOPLE["teacher"].id
    calls_before = len(running.standin.calls)  # the bot's own look-ups at start
    reply = await running.slack.post(
        body, "application/x-www-form-urlencoded", timestamp=timestamp, signature=signature
    )
    assert reply.status == 401
    assert _nothing_changed(running)
    assert {c.method for c in running.standin.calls[calls_before:]} <= {"auth.test"}


async def test_missing_signature_headers_get_401(running):
    body = b"command=%2Fescalate&text=help&user_id=" + PEOPLE["teacher"].id.encode()
    assert await _post_with_headers(running, body, {"Content-Type": "application/x-www-form-urlencoded"}) == 401
    only_timestamp = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "1"}
    assert await _post_with_headers(running, body, only_timestamp) == 401


async def test_a_body_bolt_cannot_parse_gets_401_unsigned_and_400_signed(running):
    # Unsigned: refused before Bolt parses it (Bolt alone answered 500).
    reply = await running.slack.post(
        "payload=%7Bnot-json", "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert reply.status == 401
    # Signed but not what Slack sends: no person to answer, so a plain 400.
    for body, content_type in (
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
        ("{", "application/json"),
    ):
        reply = await running.slack.post(body, content_type)
        assert reply.status == 400, body
    # Not UTF-8 (slack_sdk's check decodes the body and would raise), signed over its bytes.
    raw, ts = b"payload=\xff\xfe", str(int(time.time()))
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    status = await _post_with_headers(
        running,
        raw,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    assert status == 401
    assert _nothing_changed(running)
