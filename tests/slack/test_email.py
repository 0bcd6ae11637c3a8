"""E-mail as a second channel, over the real Slack flow: a professional named only by e-mail is e-mailed at each
step, by SMTP to a real server on 127.0.0.1; the case's details go only to a secure domain."""

from collections import Counter
from datetime import timedelta

from sqlmodel import select

from bot.email.inbox import Inbox
from bot.scheduler import DueWork
from flows.escalations import view_case
from flows.people import PersonRef
from storage.models import OutboxMessage, Person
from tests.slack.conftest import PEOPLE, start_running
from tests.slack.test_delivery import deliver_everything
from tests.slack.test_escalate_end_to_end import FORM, press, raise_case

GP = "gita.rao@nhs.net"
GP_FORM = dict(FORM, professionals=[], professionals_by_email=f"Dr Gita Rao <{GP}>")
TEACHER = PersonRef("slack", PEOPLE["teacher"].id)
# What the form says about the child: never in an e-mail to an address outside the secure domains.
CHILD_DETAILS = [
    FORM["child_initials"],
    FORM["child_case_reference"],
    FORM["evidence_of_need"],
    FORM["decision_disagreed"],
    FORM["key_dates"],
]


async def run_case_with_an_email_only_gp(env):
    """Raised about a GP named only by e-mail; Stage 2; a reminder two working days before its deadline;
    resolved by the school's line manager."""
    await raise_case(env, form=GP_FORM)
    await deliver_everything(env)
    await press(env, "teacher", "case_escalate", {"reason": "Talked; not agreed.", "next_holders": [PEOPLE["head"].id]})
    await deliver_everything(env)
    calendar = env.ctx.policy.working_calendar
    due_day = calendar.local_date(view_case(env.ctx, "ESC-2026-0001", TEACHER).stage.due_at)
    env.clock.set(
        calendar.at_local(calendar.subtract_working_days(due_day, 2), env.ctx.policy.reminders.send_at)
        + timedelta(minutes=15)
    )
    await DueWork(env.ctx, env.bot.outbox).run_once()
    await deliver_everything(env)
    await press(
        env,
        "head",
        "case_resolve",
        {
            "outcome_kind": "decision_upheld",
            "decision_outcome": "Upheld after a call with the GP.",
            "key_learning": "Call the surgery early.",
            "outcome_date": calendar.local_date(env.clock.now()).isoformat(),
            "nothing_outstanding": ["yes"],
        },
    )
    await deliver_everything(env)


EXPECTED_SUBJECTS = [
    "ESC-2026-0001: invitation to talk a disagreement through (Stage 1)",
    "ESC-2026-0001: please name your Stage 2 holder",
    "ESC-2026-0001: reminder, Stage 2 due ",
    "ESC-2026-0001: resolved",
]


def subjects(inbox: Inbox, address: str) -> list[str]:
    return [m.mail["Subject"] for m in inbox.to(address)]


def assert_subjects(found: list[str]):
    assert len(found) == len(EXPECTED_SUBJECTS), found
    assert all(s.startswith(e) for s, e in zip(found, EXPECTED_SUBJECTS, strict=True)), found


async def test_a_gp_named_only_by_email_is_emailed_at_each_step(running_with_email):
    env = running_with_email
    await run_case_with_an_email_only_gp(env)
    assert_subjects(subjects(env.inbox, GP))
    first = env.inbox.to(GP)[0]
    # nhs.net is a secure domain: the case's details go, in both parts.
    for part in (first.plain, first.html):
        assert "J.S." in part and "MOS-123456" in part and "Repeated absence" in part
    assert "Please get in touch with Tess Teacher (tess@school.example)" in first.plain
    assert first.mail["Auto-Submitted"] == "auto-generated"
    # Nobody is asked to contact the GP by hand, and nothing failed.
    assert not [m for m in env.dms("teacher") if "yourself" in m.text]
    with env.ctx.db.transaction() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_an_address_outside_the_secure_domains_gets_the_reference_and_no_details(running_with_email):
    env = running_with_email
    await raise_case(env, form=dict(GP_FORM, professionals_by_email="Pat Police <pat@police.example>"))
    await deliver_everything(env)
    (mail,) = env.inbox.to("pat@police.example")
    for part in (mail.plain, mail.html, mail.mail["Subject"]):
        assert "ESC-2026-0001" in part
        leaked = [d for d in CHILD_DETAILS if d in part]
        assert not leaked, leaked
    assert "Stage: Stage 1 of 5: Frontline practitioners" in mail.plain
    assert "Deadline: Due Tuesday 14 April 2026, 5pm" in mail.plain
    assert "Who to contact: Tess Teacher (tess@school.example)" in mail.plain


async def test_with_30_percent_of_slack_calls_and_of_smtp_sends_failing_nothing_is_lost_or_sent_twice(database_url):
    env = await start_running(database_url, Inbox(failure_rate=0.3, seed=7))
    try:
        env.standin.failure_rate = 0.3
        await run_case_with_an_email_only_gp(env)
        assert env.standin.failures_injected > 5 and env.inbox.failures_injected > 0
        assert_subjects(subjects(env.inbox, GP))
        with env.ctx.db.transaction() as session:
            rows = session.exec(select(OutboxMessage)).all()
            gp_id = session.exec(select(Person.id).where(Person.platform_user_id == GP)).one()
        assert {m.status for m in rows} == {"sent"}
        # Each e-mail once, and one for each outbox message to the GP.
        by_message_id = Counter(m.mail["Message-ID"] for m in env.inbox.arrived)
        assert set(by_message_id.values()) == {1}
        assert set(by_message_id) == {
            f"<escalation-bot.outbox-{m.id}@cscp.example>" for m in rows if m.recipient_id == gp_id
        }
        # Each Slack post once.
        by_outbox_id = Counter(m.metadata["event_payload"]["outbox_id"] for m in env.standin.messages if m.metadata)
        assert by_outbox_id and set(by_outbox_id.values()) == {1}
    finally:
        await env.stop()


async def test_without_email_the_raiser_is_asked_to_contact_the_gp_by_hand(running):
    await raise_case(running, form=GP_FORM)
    await deliver_everything(running)
    by_hand = [m.text for m in running.dms("teacher") if "yourself" in m.text]
    assert len(by_hand) == 1
    assert by_hand[0].startswith(
        "Please contact Dr Gita Rao (gita.rao@nhs.net) yourself about ESC-2026-0001: "
        "they are named only by e-mail, and this bot does not send e-mail."
    )
    assert "Tess Teacher" in by_hand[0]


async def test_holders_named_by_e_mail_in_the_slack_form_are_each_e_mailed(running_with_email):
    """Any field that names a professional takes several, by person or by address: here a Slack manager and
    two people outside the workspace hold Stage 2 for the school."""
    env = running_with_email
    await raise_case(env)
    await deliver_everything(env)
    reply, view = await press(
        env,
        "teacher",
        "case_escalate",
        {
            "reason": "Talked; not agreed.",
            "next_holders": [PEOPLE["head"].id],
            "next_holders_by_email": "Dr Gita Rao <gita.rao@nhs.net>; governor@school.example",
        },
    )
    assert "next_holders_by_email" in {b.get("block_id") for b in view["blocks"]}
    assert not reply.body  # accepted
    await deliver_everything(env)
    assert [m.mail["Subject"] for m in env.inbox.to(GP)] == ["ESC-2026-0001: you hold Stage 2"]
    assert [m.mail["Subject"] for m in env.inbox.to("governor@school.example")] == ["ESC-2026-0001: you hold Stage 2"]
    holders = view_case(env.ctx, "ESC-2026-0001", TEACHER).stage.raising
    assert [p.name or p.email for p in holders][1:] == ["Dr Gita Rao", "governor@school.example"]


async def test_someone_in_slack_who_chooses_e_mail_as_well_gets_each_message_both_ways(running_with_email):
    """Tess chooses e-mail as well on App Home: what the bot sends her in Slack comes to her work address too,
    each message once each way; her choice is hers alone (MASH's worker gets Slack only); she can stop it."""
    env = running_with_email
    tess, address = PEOPLE["teacher"].id, PEOPLE["teacher"].email
    home = await env.slack.open_home(tess)
    assert "E-mail me as well" in str(home["blocks"])
    await env.slack.press_button(tess, "home_email_copies_on", "")
    await env.standin.wait_for(lambda: "Stop the e-mails" in str(env.standin.home[tess]["blocks"]))
    await raise_case(env)
    await deliver_everything(env)
    (card,) = [m for m in env.dms("teacher") if "ESC-2026-0001" in str(m.blocks)]
    (mail,) = env.inbox.to(address)
    assert mail.mail["Subject"].startswith("ESC-2026-0001")
    # school.example is not a secure mail domain: the reference, never the child's details.
    assert not [d for d in CHILD_DETAILS if d in mail.plain]
    assert env.inbox.to(PEOPLE["mash"].email) == [] and env.dms("mash")
    assert "home_email_copies_off" in str(env.standin.home[tess]["blocks"])
    await env.slack.press_button(tess, "home_email_copies_off", "")
    await env.standin.wait_for(lambda: "E-mail me as well" in str(env.standin.home[tess]["blocks"]))
    await press(env, "teacher", "case_escalate", {"reason": "Talked; not agreed.", "next_holders": [PEOPLE["head"].id]})
    await deliver_everything(env)
    assert len(env.inbox.to(address)) == 1, "no e-mail once she stopped them"


async def test_e_mail_as_well_is_not_offered_when_the_bot_sends_no_e_mail(running):
    home = await running.slack.open_home(PEOPLE["teacher"].id)
    assert "E-mail me as well" not in str(home["blocks"])
    await running.slack.press_button(PEOPLE["teacher"].id, "home_email_copies_on", "")
    await running.standin.wait_for(lambda: "cannot e-mail you" in str(running.dms("teacher")))


async def test_when_slack_refuses_a_document_the_e_mail_copy_of_its_news_still_goes(running_with_email):
    """Tess has e-mail as well; at closure Slack refuses the record for her school's file (files:write gone):
    the outcome's words reach her in Slack, alone, and by e-mail all the same."""
    env = running_with_email
    tess, address = PEOPLE["teacher"].id, PEOPLE["teacher"].email
    await env.slack.press_button(tess, "home_email_copies_on", "")
    await env.standin.wait_for(lambda: "Stop the e-mails" in str(env.standin.home.get(tess, {}).get("blocks")))
    await raise_case(env)
    await deliver_everything(env)
    env.standin.scopes.discard("files:write")
    reply = await env.slack.command(tess, "ESC-2026-0001")
    await env.slack.click(tess, reply.body["blocks"], "case_withdraw")
    await env.slack.submit(tess, {"reason": "MASH has accepted the referral."})
    await deliver_everything(env)
    (told,) = [m for m in env.dms("teacher") if "was withdrawn" in m.text]
    assert not told.files and "could not be attached here" in told.text
    assert subjects(env.inbox, address)[-1] == "ESC-2026-0001: withdrawn"
