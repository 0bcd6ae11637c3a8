"""The paperwork in a Teams personal chat, through real tokened activities and the stand-in: a file consent
card, the person's accept (the bytes put in the upload session the stand-in serves) or decline."""

import httpx

from bot.teams import cards
from tests.slack.test_paperwork_in_slack import text_of
from tests.teams.conftest import PEOPLE
from tests.teams.test_delivery import cards_for, installed
from tests.teams.test_journey import execute, raise_in_a_dialog


async def asked_for_the_record(running) -> dict:
    """Sam (the receiving side's holder) presses Record for our file on their card: the consent card."""
    await installed(running, "teacher", "mash")
    await raise_in_a_dialog(running)
    await running.bot.outbox.drain()
    card = cards_for(running, "mash")[0].cards[0]
    after = await execute(running, "mash", card, f"{cards.OPEN}:record_for_file")
    assert "ESC-2026-0001" in str(after)
    await running.bot.outbox.drain()
    ((sent, consent),) = running.standin.consent_cards(PEOPLE["mash"])
    assert consent["name"] == "ESC-2026-0001-record-receiving.docx"
    assert consent["content"]["sizeInBytes"] > 0
    # The context names the case and the document, nothing about the child.
    assert consent["content"]["acceptContext"] == {"kind": "record_for_file", "r": "ESC-2026-0001", "side": "receiving"}
    assert "record" in sent.text.lower()
    return consent


async def test_a_record_accepted_in_teams_is_uploaded_and_shown_as_a_file(running):
    consent = await asked_for_the_record(running)
    assert not running.standin.uploads  # nothing uploaded before the person accepts
    reply = await running.teams.answer_consent(PEOPLE["mash"], consent)
    assert reply.status == 200, reply.body
    (upload,) = running.standin.uploads.values()
    assert upload.content is not None and "ESC-2026-0001" in text_of(upload.content)
    shown = [
        a
        for s in running.standin.sent_to_user(PEOPLE["mash"])
        for a in s.activity.get("attachments") or []
        if a["contentType"] == cards.FILE_INFO
    ]
    assert [(a["name"], a["content"]["uniqueId"]) for a in shown] == [(upload.name, upload.id)]


async def test_a_declined_record_is_not_uploaded_and_the_bot_says_so_briefly(running):
    consent = await asked_for_the_record(running)
    before = len(running.standin.sent_to_user(PEOPLE["mash"]))
    reply = await running.teams.answer_consent(PEOPLE["mash"], consent, accept=False)
    assert reply.status == 200, reply.body
    assert not any(u.content for u in running.standin.uploads.values())
    (said,) = running.standin.sent_to_user(PEOPLE["mash"])[before:]
    assert said.text.startswith("No file was sent")


async def test_the_standin_upload_session_refuses_a_wrong_content_range(running):
    consent = await asked_for_the_record(running)
    activity = running.standin.file_consent(PEOPLE["mash"], consent)
    url = activity["value"]["uploadInfo"]["uploadUrl"]
    async with httpx.AsyncClient() as client:
        wrong = await client.put(url, content=b"abcd", headers={"Content-Range": "bytes 0-9/10"})
        assert wrong.status_code == 416
        right = await client.put(url, content=b"abcd", headers={"Content-Range": "bytes 0-3/4"})
        assert right.status_code == 201
        again = await client.put(url, content=b"abcd", headers={"Content-Range": "bytes 0-3/4"})
        assert again.status_code == 404
