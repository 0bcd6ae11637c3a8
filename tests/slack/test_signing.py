"""Requests are signed as Slack signs them; a bad signature or an old timestamp gets 401."""
import time

from sqlmodel import select

from storage.models import AuditEvent, Escalation
from tests.slack.conftest import PEOPLE
from tests.slack.harness import slack_signature


def test_the_signer_matches_slacks_documented_example():
    # From Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert slack_signature(secret, "1531420618", body) == \
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


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
