"""Nothing about a child reaches a log, on any failure path, with every logger at DEBUG."""

import json
import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

from bot.slack.failures import SOMETHING_WENT_WRONG
from tests.slack.conftest import PEOPLE
from tests.slack.harness import SIGNING_SECRET, slack_signature
from tests.slack.test_escalate_end_to_end import FORM, card_in, press, raise_case
from tests.slack.test_failures import TEACHER, broken_database, told

INITIALS, CASE_REFERENCE = "Q.X.", "QX-771199"
CONCERN = "Marmalade wardrobe disclosure"
REASON = "Quince lantern meeting went nowhere"
NOTE = "Pomegranate typewriter phone call"
SECRETS = (INITIALS, "Q.X", CASE_REFERENCE, "771199", CONCERN, REASON, NOTE)


def leaks(caplog) -> list[str]:
    logged = [caplog.text] + [record.getMessage() for record in caplog.records]
    return [secret for secret in SECRETS if any(secret in line for line in logged)]


async def test_no_initials_case_reference_or_free_text_is_logged_on_any_failure(running, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger and the capture: every logger that logs, at any level
    slack, standin = running.slack, running.standin
    await raise_case(
        running, form=dict(FORM, child_initials=INITIALS, child_case_reference=CASE_REFERENCE, evidence_of_need=CONCERN)
    )
    await running.deliver()
    assert INITIALS in str(card_in(running.dms("teacher")).blocks)  # there is data to leak

    # A request carrying the case, forged, stale, then signed but malformed.
    card = card_in(running.dms("teacher"))
    payload = {
        "type": "view_submission",
        "user": {"id": TEACHER, "name": "Tess"},
        "view": {
            "type": "modal",
            "callback_id": "case_note_view",
            "private_metadata": json.dumps({"r": INITIALS}),
            "blocks": card.blocks,
            "state": {
                "values": {
                    "note_text": {"a": {"type": "plain_text_input", "value": f"{INITIALS} {CASE_REFERENCE} {NOTE}"}}
                }
            },
        },
    }
    body = urlencode({"payload": json.dumps(payload)})
    assert (await slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)).status == 401
    stale = int(time.time()) - 400
    signature = slack_signature(SIGNING_SECRET, str(stale), body)
    assert (
        await slack.post(body, "application/x-www-form-urlencoded", timestamp=stale, signature=signature)
    ).status == 401
    assert (await slack.post(body[:-7], "application/x-www-form-urlencoded")).status == 400
    # Ids of the request that nothing listens for.
    stray = dict(payload, view=dict(payload["view"], callback_id=f"{INITIALS}-{CASE_REFERENCE}"))
    assert (
        await slack.post(urlencode({"payload": json.dumps(stray)}), "application/x-www-form-urlencoded")
    ).status == 404

    # A listener fails: a command, a form (with free text in it), a button after it answered.
    await slack.click(TEACHER, card.blocks, "case_note")
    with broken_database(running):
        assert (await slack.command(TEACHER, "ESC-2026-0001")).body["text"] == SOMETHING_WENT_WRONG
        reply = await slack.submit(TEACHER, {"note_text": NOTE, "note_kind": "discussion"})
        assert reply.body["response_action"] == "push"
        await slack._click(TEACHER, card.blocks, "case_withdraw", None)
        await standin.wait_for(lambda: told(running, TEACHER).count(SOMETHING_WENT_WRONG) == 1)

    # Delivery fails: the bot itself mid-delivery, then Slack for a while, then Slack for good.
    with broken_database(running, "chat_message"):
        await press(running, "teacher", "case_escalate", {"reason": REASON, "next_holders": [PEOPLE["head"].id]})
    for failure in ("server_error", "channel_not_found"):
        standin.fail_methods["chat.postMessage"] = failure
        running.clock.advance(timedelta(hours=2))
        await running.deliver()
    del standin.fail_methods["chat.postMessage"]

    # Slack does not open a form.
    standin.fail_methods["views.open"] = "expired_trigger_id"
    await slack._click(TEACHER, card.blocks, "case_history", None)
    await standin.wait_for(lambda: any("did not open the form" in t for t in told(running, TEACHER)))

    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("not delivered" in r.getMessage() for r in failures)  # the paths above did fail, and said so
    # The missing table, as each driver reports it: SQLite's OperationalError, PostgreSQL's ProgrammingError.
    missing_table = "OperationalError" if running.ctx.db.is_sqlite else "ProgrammingError"
    assert any(f"view_submission failed: {missing_table}" in r.getMessage() for r in failures)
    assert any("delivering outbox message" in r.getMessage() for r in failures)
    assert leaks(caplog) == []
    # No header either: not the signature, not the user agent.
    assert "v0=" not in caplog.text and "aiohttp/" not in caplog.text
