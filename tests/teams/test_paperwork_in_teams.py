"""The paperwork in a Teams personal chat, through real tokened activities and the stand-in: a file consent
card, the person's accept (the bytes put in the upload session the stand-in serves) or decline."""

import io

import httpx
import openpyxl
import pytest
from microsoft_teams.api import MessageActivityInput
from sqlmodel import select

from bot.teams import cards
from storage.models import AuditEvent
from tests.slack.test_paperwork_in_slack import text_of
from tests.teams.conftest import CSCP_CHANNEL, PEOPLE
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


async def test_the_word_report_offers_the_cscp_team_the_workbook_and_a_stranger_the_unknown_words_answer(running):
    running.standin.conversations[CSCP_CHANNEL].members = [PEOPLE["gp"]]  # Gita is in the CSCP team
    await running.bot.teams.refresh_partnership()
    await installed(running, "gp", "teacher")
    await running.teams.say(PEOPLE["gp"], "report 2026-04-01 2027-03-31")
    assert "on its way to this chat" in str(running.standin.sent_to_user(PEOPLE["gp"])[-1].cards)
    await running.bot.outbox.drain()
    ((_, consent),) = running.standin.consent_cards(PEOPLE["gp"])
    assert consent["name"] == "themes-report-2026-04-01-2027-03-31.xlsx"
    assert consent["content"]["acceptContext"] == {"kind": "report", "from": "2026-04-01", "to": "2027-03-31"}
    reply = await running.teams.answer_consent(PEOPLE["gp"], consent)
    assert reply.status == 200, reply.body
    (upload,) = running.standin.uploads.values()
    workbook = openpyxl.load_workbook(io.BytesIO(upload.content))
    assert "By theme" in workbook.sheetnames

    # Tess is not in the CSCP team: the answer any unknown word gets, nothing sent, and the refusal audited.
    await running.teams.say(PEOPLE["teacher"], "what is this")
    unknown = running.standin.sent_to_user(PEOPLE["teacher"])[-1].cards
    await running.teams.say(PEOPLE["teacher"], "report")
    assert running.standin.sent_to_user(PEOPLE["teacher"])[-1].cards == unknown
    await running.bot.outbox.drain()
    assert not running.standin.consent_cards(PEOPLE["teacher"])
    with running.ctx.db.transaction() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.escalation_id.is_(None))).all()
        refused = [e for e in audit if e.action == "refused" and e.detail.get("attempted") == "report"]
        assert len(refused) == 1
        assert len([e for e in audit if e.action == "report"]) >= 1


async def test_teams_refuses_a_file_consent_card_without_a_name_or_a_size(running):
    await installed(running, "mash")
    chat = running.standin.personal_conversation(PEOPLE["mash"]).id
    app = running.bot.teams.app
    for attachment in (
        cards.file_consent("", "A record", 10, {"kind": "record_for_file", "r": "ESC-2026-0001"}),
        cards.file_consent("record.docx", "A record", 0, {"kind": "record_for_file", "r": "ESC-2026-0001"}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await app.send(chat, MessageActivityInput().add_attachments(attachment))
        assert refused.value.response.status_code == 400
    assert not running.standin.consent_cards(PEOPLE["mash"])
    good = cards.file_consent("record.docx", "A record", 10, {"kind": "record_for_file", "r": "ESC-2026-0001"})
    await app.send(chat, MessageActivityInput().add_attachments(good))
    assert len(running.standin.consent_cards(PEOPLE["mash"])) == 1
