"""The paperwork in Slack: the notification form in the CSCP thread from Stage 3, the documents on request and at
closure in direct messages, the quarterly themes report in the channel and `/escalate report` for the team."""

import io
import zipfile
from datetime import UTC, datetime

import docx
from sqlmodel import select

from bot.scheduler import DueWork
from storage.models import AuditEvent, OutboxMessage, ReportSent
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE
from tests.slack.test_delivery import deliver_everything
from tests.slack.test_escalate_end_to_end import FORMAL, buttons, card_in, press, raise_case

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def text_of(content: bytes) -> str:
    """Every paragraph and table cell of a Word document, as python-docx reads it."""
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def files_in_thread(running):
    return running.standin.shared_files(CSCP_CHANNEL, thread_ts=running.cscp_posts()[0].ts)


def reports(running):
    """The themes reports' files at the top of the CSCP channel."""
    top = {m.ts for m in running.cscp_posts()}
    return [f for f in running.standin.shared_files(CSCP_CHANNEL) if f["ts"] in top]


def dm_files(running, who):
    return running.standin.shared_files(running.standin.dm_channel(PEOPLE[who].id))


async def to_stage_3(running):
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    await press(running, "mash", "case_name_holder", {"holders": [PEOPLE["mash_manager"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    await press(running, "mash_manager", "case_name_holder", {"holders": [PEOPLE["mash_service"].id]})


async def resolve_at_stage_3(running):
    await press(
        running,
        "service_manager",
        "case_resolve",
        {
            "outcome_kind": "decision_upheld",
            "decision_outcome": "MASH will assess.",
            "key_learning": "Talk early.",
            "outcome_date": "2026-04-01",
            "concerns": "Resolved.",
            "nothing_outstanding": ["yes"],
        },
    )


async def test_the_notification_form_arrives_in_the_cscp_thread_at_stage_3_and_again_at_stage_4(running):
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    assert not running.standin.ok_calls("files.completeUploadExternal")  # no form before Stage 3
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    shared = files_in_thread(running)
    assert [f["name"] for f in shared] == ["ESC-2026-0001-notification-form.docx"]
    assert shared[0]["title"].endswith(", at Stage 3")
    assert "as it stands now the case is at Stage 3" in shared[0]["text"]
    form = text_of(running.standin.file_bytes(shared[0]["id"]))
    assert "Open at Stage 3" in form and "MOS-123456" in form and "MASH closed the referral" in form
    # Through Slack's real external upload: an address, the bytes POSTed there, then completed in the thread.
    complete = running.standin.ok_calls("files.completeUploadExternal")[-1]
    assert complete.args["channel_id"] == CSCP_CHANNEL and complete.args["thread_ts"] == running.cscp_posts()[0].ts

    await press(running, "mash", "case_name_holder", {"holders": [PEOPLE["mash_service"].id]})
    await press(
        running,
        "service_manager",
        "case_escalate",
        {"reason": "Still stuck.", "next_holders": [PEOPLE["director"].id], **FORMAL},
    )
    shared = files_in_thread(running)
    assert len(shared) == 2 and shared[1]["title"].endswith(", at Stage 4")
    form = text_of(running.standin.file_bytes(shared[1]["id"]))
    assert "Open at Stage 4" in form and "MASH upholds its decision." in form  # Stage 3's record, now filled
    with running.ctx.db.transaction() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_the_card_gives_its_reader_the_form_and_their_sides_record_and_refuses_a_stranger(running):
    await to_stage_3(running)
    mash_card = card_in(running.dms("mash_service"))
    assert {"case_notification_form", "case_record_for_file"} <= buttons(mash_card)
    user = PEOPLE["mash_service"].id
    await running.slack.click(user, mash_card.blocks, "case_record_for_file")
    assert "on its way to your direct messages" in str(running.standin.open_view(user)["blocks"])
    await running.slack.click(user, mash_card.blocks, "case_notification_form")
    await running.deliver()
    names = [f["name"] for f in dm_files(running, "mash_service")]
    assert names == ["ESC-2026-0001-record-receiving.docx", "ESC-2026-0001-notification-form.docx"]
    record = text_of(running.standin.file_bytes(dm_files(running, "mash_service")[0]["id"]))
    assert "Children's Social Care (MASH)" in record and "add your own" in record  # the receiving side's file

    # The CSCP post offers the form (the partnership has no side's file).
    post = running.cscp_posts()[0]
    assert "case_notification_form" in buttons(post) and "case_record_for_file" not in buttons(post)

    # A stranger pressing a copy of the button gets the stranger's answer, and nothing is sent; it is audited.
    stranger = PEOPLE["stranger"].id
    await running.slack.click(stranger, mash_card.blocks, "case_notification_form")
    await running.deliver()
    assert "no escalation ESC-2026-0001 that you can see" in str(running.standin.open_view(stranger)["blocks"])
    assert not dm_files(running, "stranger")
    with running.ctx.db.transaction() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).all()
        assert any(e.detail.get("attempted") == "notification_form" for e in refused)
        asked = session.exec(select(AuditEvent).where(AuditEvent.action == "record_for_file")).all()
        assert len(asked) == 1


async def test_at_closure_each_sides_holders_get_their_sides_record_and_the_thread_the_final_form(running):
    await to_stage_3(running)
    await resolve_at_stage_3(running)
    raising = dm_files(running, "service_manager")
    receiving = dm_files(running, "mash_service")
    assert [f["name"] for f in raising] == ["ESC-2026-0001-record-raising.docx"]
    assert [f["name"] for f in receiving] == ["ESC-2026-0001-record-receiving.docx"]
    assert "Please add it to your agency's file" in raising[0]["text"]
    assert "MOS-123456" in text_of(running.standin.file_bytes(raising[0]["id"]))  # the raising agency's reference
    assert "School or college" in text_of(running.standin.file_bytes(raising[0]["id"]))
    assert not dm_files(running, "teacher")  # an earlier holder: their side's holder now files it
    final = files_in_thread(running)[-1]
    assert final["title"].endswith(", at closure")
    assert "Resolved at Stage 3" in text_of(running.standin.file_bytes(final["id"]))


async def test_when_slack_refuses_the_document_for_good_the_news_still_arrives_once_and_the_team_is_told(running):
    await to_stage_3(running)
    running.standin.scopes.discard("files:write")  # say, the app was not reinstalled when the scope was added
    await resolve_at_stage_3(running)
    await deliver_everything(running)
    # The outcome's words reach each side's holder and the CSCP thread, once each, without the file.
    for who, agency in (("service_manager", "School or college"), ("mash_service", "Children's Social Care (MASH)")):
        told = [m for m in running.dms(who) if "was resolved at Stage 3" in m.text]
        assert len(told) == 1 and not told[0].files, who
        # ... saying which document did not come, and whom to ask for it.
        assert f"The record of the case for {agency}'s file could not be attached here: please ask" in told[0].text
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=running.cscp_posts()[0].ts)
    assert [m.text.startswith("*Resolved at Stage 3") for m in thread].count(True) == 1
    assert not thread[-1].files
    # What did not go is recorded, and the CSCP team told, who can send the documents; the raiser is not asked to
    # pass on news that arrived.
    with running.ctx.db.transaction() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert sorted(m.audience for m in failed) == ["partnership", "person", "person"]
    assert sorted(m.last_error for m in failed) == [
        "missing_scope: the Escalation Notification Form could not be attached",
        "missing_scope: the record of the case for Children's Social Care (MASH)'s file could not be attached",
        "missing_scope: the record of the case for School or college's file could not be attached",
    ]
    notices = [m for m in running.standin.messages_in(CSCP_CHANNEL) if "could not be delivered" in m.text]
    assert len(notices) == 3 and all("could not be attached" in m.text for m in notices)
    assert not [m for m in running.dms("teacher") if "please" in m.text.lower() and "pass" in m.text.lower()]


async def test_the_quarterly_report_is_posted_once_with_charts_and_the_workbook_through_a_restart(running):
    await to_stage_3(running)
    # The quarter April to June 2026 ends; its report is due on Wednesday 1 July at 09:00 London time.
    running.clock.set(datetime(2026, 7, 1, 7, 59, tzinfo=UTC))
    await DueWork(running.ctx, running.bot.outbox).run_once()
    await deliver_everything(running)
    assert not reports(running)  # 08:59 in London: not yet
    running.clock.set(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    await DueWork(running.ctx, running.bot.outbox).run_once()
    # A restart: a new scheduler finds the ledger, and the report is not written again.
    await DueWork(running.ctx, running.bot.outbox).run_once()
    await deliver_everything(running)
    running.clock.set(datetime(2026, 7, 2, 8, 0, tzinfo=UTC))
    await DueWork(running.ctx, running.bot.outbox).run_once()
    await deliver_everything(running)

    top = reports(running)
    assert len({f["ts"] for f in top}) == 1  # one message, posted once
    assert [f["name"] for f in top] == [
        "themes-report-2026-04-01-2026-06-30-by-theme.png",
        "themes-report-2026-04-01-2026-06-30-by-agency.png",
        "themes-report-2026-04-01-2026-06-30-by-stage-reached.png",
        "themes-report-2026-04-01-2026-06-30-by-outcome.png",
        "themes-report-2026-04-01-2026-06-30.xlsx",
    ]
    assert "1 April 2026 to 30 June 2026" in top[0]["text"]
    for chart in top[:-1]:
        assert running.standin.file_bytes(chart["id"]).startswith(PNG_SIGNATURE)
    workbook = zipfile.ZipFile(io.BytesIO(running.standin.file_bytes(top[-1]["id"])))
    assert "xl/workbook.xml" in workbook.namelist()
    with running.ctx.db.transaction() as session:
        assert [r.period_start.isoformat() for r in session.exec(select(ReportSent)).all()] == ["2026-04-01"]


async def test_escalate_report_gives_the_cscp_team_any_period_and_a_stranger_the_strangers_answer(running):
    await to_stage_3(running)
    reply = await running.slack.command(PEOPLE["stranger"].id, "report 2026-04-01 2027-03-31")
    unknown = await running.slack.command(PEOPLE["stranger"].id, "nonsense")
    assert reply.body["text"] == unknown.body["text"].replace("nonsense", "report 2026-04-01 2027-03-31")
    await running.deliver()
    assert not dm_files(running, "stranger")

    reply = await running.slack.command(PEOPLE["cscp"].id, "report 2026-04-01 2027-03-31")
    assert "1 April 2026 to 31 March 2027" in reply.body["text"]
    await running.deliver()
    names = [f["name"] for f in dm_files(running, "cscp")]
    assert names[-1] == "themes-report-2026-04-01-2027-03-31.xlsx" and len(names) == 5
    bad = await running.slack.command(PEOPLE["cscp"].id, "report 2026-04-01")
    assert "Give two dates" in bad.body["text"]

    with running.ctx.db.transaction() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.escalation_id.is_(None))).all()
        refused = [e for e in audit if e.action == "refused" and e.detail.get("attempted") == "report"]
        assert len(refused) == 1 and refused[0].detail["from"] == "2026-04-01"
        allowed = [e for e in audit if e.action == "report"]
        assert allowed[0].actor_id is not None and allowed[0].detail["to"] == "2027-03-31"
