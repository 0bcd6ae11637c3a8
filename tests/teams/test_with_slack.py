"""One case across Slack and Teams, on one bot serving both on one aiohttp server: raised in Slack, the
professional it names works in Teams and gets it there; both see the same card with their own actions; a click
in either redraws both; and someone on both platforms is one person, whose permissions follow them."""

from collections import Counter

from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlmodel import select

from bot.email.inbox import Inbox
from bot.pacing import NoPacing
from bot.runtime import build_bot
from bot.slack.http import web_app
from bot.standin.server import SlackStandin
from bot.standin.teams_client import TeamsSide
from flows.clock import ManualClock
from flows.policy import load_policy
from storage.models import OutboxMessage, Person
from tests.conftest import WED_1_APRIL_2026
from tests.slack.conftest import CSCP_CHANNEL as SLACK_CSCP
from tests.slack.conftest import PEOPLE as SLACK_PEOPLE
from tests.slack.conftest import Running, _serve, manifest_scopes
from tests.slack.harness import SIGNING_SECRET, FakeSlackClient
from tests.slack.test_delivery import deliver_everything, sent_log
from tests.slack.test_escalate_end_to_end import FORM, FORMAL, buttons, card_in, press, raise_case
from tests.slack.test_paperwork_in_slack import text_of
from tests.teams.conftest import CSCP_CHANNEL as TEAMS_CSCP
from tests.teams.conftest import PEOPLE as TEAMS_PEOPLE
from tests.teams.conftest import teams_settings
from tests.teams.test_journey import execute


class Both(Running):
    """The Slack test's view of the bot (its stand-in, its client, direct messages), plus Teams'."""

    def __init__(self, bot, slack_standin, slack, teams_standin, teams, clock, runners):
        super().__init__(bot, slack_standin, slack, clock, runners, worker=None)
        self.teams_standin, self.teams = teams_standin, teams

    def teams_cards(self, person: str) -> list:
        return [a for a in self.teams_standin.sent_to_user(TEAMS_PEOPLE[person]) if a.cards]


async def start_both(teams_standin, database_url, inbox: Inbox | None = None) -> Both:
    clock = ManualClock(WED_1_APRIL_2026)
    slack_standin = SlackStandin(scopes=manifest_scopes(), users=list(SLACK_PEOPLE.values()))
    slack_standin.channels[SLACK_CSCP] = "private"
    slack_runner, slack_port = await _serve(slack_standin.app())
    settings = teams_settings(
        teams_standin,
        database_url,
        slack_bot_token="xoxb-standin",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{slack_port}/api/",
        cscp_channel_id=SLACK_CSCP,
        cscp_members=SLACK_PEOPLE["cscp"].id,
        cscp_executive=SLACK_PEOPLE["executive"].id,
        **(
            dict(
                smtp_host="127.0.0.1",
                smtp_port=str(await inbox.start()),
                smtp_starttls=False,
                mail_from="escalations@cscp.example",
            )
            if inbox
            else {}
        ),
    )
    bot = build_bot(
        settings, load_policy(), clock, retry_interval=FixedValueRetryIntervalCalculator(0), pacer=NoPacing()
    )
    await bot.slack.directory.refresh_partnership()
    web_app(bot.slack.app, SIGNING_SECRET, application=bot.web)  # one server for both, as `run` does
    await bot.teams.mount()
    runner, port = await _serve(bot.web)
    slack = FakeSlackClient(f"http://127.0.0.1:{port}/slack/events", slack_standin)
    teams = TeamsSide(f"http://127.0.0.1:{port}/api/messages", teams_standin)
    return Both(bot, slack_standin, slack, teams_standin, teams, clock, [runner, slack_runner])


async def test_a_case_raised_in_slack_reaches_its_professional_in_teams_and_both_cards_move_together(
    standin, database_url
):
    env = await start_both(standin, database_url)
    try:
        # Sam works in Teams, where the app is installed for them: Teams tells the bot their work e-mail.
        await env.teams.install(TEAMS_PEOPLE["mash"])
        await env.teams.install(TEAMS_PEOPLE["teacher"])
        # Tess raises in Slack and names Sam by that address.
        form = dict(FORM, professionals=[], professionals_by_email=TEAMS_PEOPLE["mash"].email)
        reply = await raise_case(env, form=form)
        assert reply.body["response_action"] == "update"
        await env.deliver()
        assert not env.dms("mash")  # Sam is reached in Teams, not Slack
        (sams,) = [a for a in env.teams_cards("mash") if "ESC-2026-0001" in str(a.cards)]
        sam_verbs = {a["verb"] for a in sams.cards[0]["actions"]}
        assert "open:propose_resolution" in sam_verbs and "open:resolve" not in sam_verbs
        assert {"case_resolve", "case_escalate"} <= buttons(card_in(env.dms("teacher")))
        # Sam adds a note in Teams.
        form = await execute(env, "mash", sams.cards[0], "open:note")
        await execute(env, "mash", form, "submit:note", note_kind="call", note_text="Rang Tess back.")
        await env.deliver()
        # Tess is on both platforms: one person, messaged where she last acted (she raised it in Slack).
        assert not [a for a in env.teams_cards("teacher") if "ESC-2026-0001" in str(a.cards)]
        # Opening the case in Teams, she has the raising side's actions there too.
        refreshed = await execute(env, "teacher", sams.cards[0], "refresh")
        tess_verbs = {a["verb"] for a in refreshed["actions"]}
        assert {"open:resolve", "open:escalate"} <= tess_verbs
        # Tess escalates in Teams; Sam's Teams card and Tess's Slack card both show Stage 2.
        form = await execute(env, "teacher", refreshed, "open:escalate")
        await execute(
            env, "teacher", form, "submit:escalate", reason="Not agreed.", next_holders_by_email="hari@school.example"
        )
        await env.deliver()
        first, *later = [a for a in env.teams_cards("mash") if "ESC-2026-0001" in str(a.cards)]
        assert "Stage 2 of 5" in str(first.cards[0]) and first.history  # redrawn in place
        assert "Please name who holds Stage 2" in str(later)  # and asked, as the receiving side, to name theirs
        # Tess's Slack card settled: the case has moved on from her.
        assert "You raised it and held Stage 1" in str(card_in(env.dms("teacher")).blocks)
    finally:
        await env.teams.close()
        await env.stop()


def teams_card(env: Both, who: str) -> dict:
    """The latest case card in the person's Teams chat, as it stands now (a case card refreshes itself)."""
    return [a for a in env.teams_cards(who) if "refresh" in a.cards[0] and "ESC-2026-0001" in str(a.cards)][-1].cards[0]


async def in_teams(env: Both, who: str, action: str, **answers) -> dict:
    form = await execute(env, who, teams_card(env, who), f"open:{action}")
    after = await execute(env, who, form, f"submit:{action}", **answers)
    await env.deliver()
    return after


async def test_the_whole_journey_to_the_executives_decision_with_each_side_on_its_own_platform(standin, database_url):
    """The school works in Slack, MASH in Teams: every stage, both sides, the Executive's decision."""
    env = await start_both(standin, database_url)
    try:
        for who in ("mash", "mash_manager", "mash_service", "mash_director"):
            await env.teams.install(TEAMS_PEOPLE[who])
        form = dict(FORM, professionals=[], professionals_by_email=TEAMS_PEOPLE["mash"].email)
        await raise_case(env, form=form)
        await env.deliver()
        steps = [
            ("head", "mash_manager", {}),
            ("service_manager", "mash_service", {"key_learning": "Agree thresholds language early."}),
            ("director", "mash_director", FORMAL),
        ]
        raiser_side = "teacher"
        for slack_holder, teams_holder, more in steps:
            await press(
                env,
                raiser_side,
                "case_escalate",
                {"reason": "Not agreed.", "next_holders": [SLACK_PEOPLE[slack_holder].id], **more},
            )
            receiving = {"head": "mash", "service_manager": "mash_manager", "director": "mash_service"}[slack_holder]
            assert "name_holder" in str(teams_card(env, receiving))
            await in_teams(env, receiving, "name_holder", holders=TEAMS_PEOPLE[teams_holder].aad_object_id)
            assert "You now hold Stage" in str(teams_card(env, teams_holder))
            raiser_side = slack_holder
        # MASH's director, in Teams, asks the school to take it to the Executive; the school's director does.
        await in_teams(env, "mash_director", "ask_to_escalate", reason="Only the Executive can settle this.")
        assert "asks you to take ESC-2026-0001 to Stage 5" in env.dms("director")[-1].text
        await press(env, "director", "case_escalate", {"reason": "We ask the Executive to decide.", **FORMAL})
        exec_card = card_in(env.dms("executive"))
        assert "Stage 5 of 5: CSCP Executive" in str(exec_card.blocks) and "case_decision" in buttons(exec_card)
        await press(
            env,
            "executive",
            "case_decision",
            {
                "outcome_kind": "decision_changed",
                "decision_outcome": "MASH will start a Child and Family assessment.",
                "key_learning": "Explain threshold decisions to referrers in writing.",
                "outcome_date": "2026-04-01",
                "nothing_outstanding": ["yes"],
            },
        )
        await env.deliver()
        for who in ("mash", "mash_manager", "mash_service", "mash_director"):
            told = [str(a.cards) for a in env.teams_cards(who)]
            assert "was decided at Stage 5" in told[-1], who
            # Each held an earlier stage: their cards settled as the case moved on from them, and stay so.
            card = teams_card(env, who)
            assert "The escalation has moved on" in str(card) and "Stage 5" not in str(card), who
            assert {a["verb"] for a in card["actions"]} <= {
                "open:note",
                "open:details",
                "open:history",
                "open:record_for_file",
            }
        # MASH's last holder is due the record for MASH's file: in Teams, a file consent card just before the
        # outcome; accepted, the Word document arrives in the upload session and has the case in it.
        director = TEAMS_PEOPLE["mash_director"]
        ((sent, consent),) = env.teams_standin.consent_cards(director)
        assert consent["name"] == "ESC-2026-0001-record-receiving.docx"
        assert "Please add it to your agency's file" in sent.text
        chat = env.teams_standin.sent_to_user(director)
        assert chat[-2] is sent and "was decided at Stage 5" in str(chat[-1].cards)
        reply = await env.teams.answer_consent(director, consent)
        assert reply.status == 200, reply.body
        (upload,) = env.teams_standin.uploads.values()
        assert upload.content is not None and "ESC-2026-0001" in text_of(upload.content)
        assert "The escalation has moved on" in str(card_in(env.dms("teacher")).blocks)
        # Both platforms' CSCP channels: one post each, updated in place, with the thread.
        (slack_post,) = env.cscp_posts()
        assert "Decided at Stage 5" in str(slack_post.blocks)
        teams_posts = [a for a in env.teams_standin.sent_to(TEAMS_CSCP) if not a.reply_to_id]
        assert len(teams_posts) == 1 and "Decided at Stage 5" in str(teams_posts[0].cards)
        replies = [a for a in env.teams_standin.sent_to(TEAMS_CSCP) if a.reply_to_id == teams_posts[0].id]
        assert "Decided at Stage 5" in str(replies[-1].cards)
        assert "The Escalation Notification Form for ESC-2026-0001 is ready (at closure)" in str(replies[-1].cards)
    finally:
        await env.teams.close()
        await env.stop()


async def test_a_recipient_on_each_channel_with_30_percent_of_sends_failing_everywhere_gets_each_message_once(
    standin, database_url
):
    """The school in Slack, Sam in Teams, the GP by e-mail: every platform fails three sends in ten."""
    inbox = Inbox(failure_rate=0.3, seed=3)
    env = await start_both(standin, database_url, inbox)
    env.inbox = inbox
    try:
        for who in ("mash", "mash_manager", "mash_service"):
            await env.teams.install(TEAMS_PEOPLE[who])
        # Sam chooses e-mail as well: each message to him comes in Teams and by e-mail, each once.
        await env.teams.say(TEAMS_PEOPLE["mash"], "email me")
        assert "Stop the e-mails" in str(standin.sent_to_user(TEAMS_PEOPLE["mash"])[-1].cards)
        standin.activities.clear()
        env.standin.failure_rate = standin.failure_rate = 0.3
        both = f"{TEAMS_PEOPLE['mash'].email}, Dr Gita Rao <gita.rao@nhs.net>"
        await raise_case(env, form=dict(FORM, professionals=[], professionals_by_email=both))
        await deliver_everything(env)
        head = [SLACK_PEOPLE["head"].id]
        await press(env, "teacher", "case_escalate", {"reason": "Not agreed.", "next_holders": head})
        await deliver_everything(env)
        await in_teams(env, "mash", "name_holder", holders=TEAMS_PEOPLE["mash_manager"].aad_object_id)
        await deliver_everything(env)
        # Stage 3: the partnership's channel on both platforms, each step once in each thread.
        sue = [SLACK_PEOPLE["service_manager"].id]
        await press(env, "head", "case_escalate", {"reason": "Still not agreed.", "next_holders": sue})
        await deliver_everything(env)
        await in_teams(env, "mash_manager", "name_holder", holders=TEAMS_PEOPLE["mash_service"].aad_object_id)
        await deliver_everything(env)
        (slack_post,) = env.cscp_posts()
        slack_thread = [m.text for m in env.standin.messages_in(SLACK_CSCP, thread_ts=slack_post.ts)]
        teams_channel = standin.sent_to(TEAMS_CSCP)
        teams_thread = [str(a.cards) for a in teams_channel if a.reply_to_id]
        assert len([a for a in teams_channel if not a.reply_to_id]) == 1
        # Stage 3 started, with the notification form (a file in Slack, a line saying where it is in Teams); MASH
        # named its holder.
        assert len(slack_thread) == len(teams_thread) == 2
        assert len(set(slack_thread)) == len(set(teams_thread)) == 2
        assert env.standin.failures_injected and standin.failures_injected and inbox.failures_injected
        # Each message once, on each channel.
        slack_log = sent_log(env)
        assert slack_log and len(slack_log) == len(set(slack_log))
        # Each as first sent: two copies of a card may come to say the same once both are settled.
        teams_log = [
            str((a.history[0] if a.history else a.activity).get("attachments"))
            for a in standin.sent_to_user(TEAMS_PEOPLE["mash"])
        ]
        assert len(teams_log) == len(set(teams_log))
        subjects = [m.mail["Subject"] for m in inbox.to("gita.rao@nhs.net")]
        assert len(subjects) == len(set(subjects)) and subjects
        with env.ctx.db.transaction() as session:
            assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}
            sam = session.exec(select(Person).where(Person.email == TEAMS_PEOPLE["mash"].email)).one()
            to_sam = {m.id for m in session.exec(select(OutboxMessage).where(OutboxMessage.recipient_id == sam.id))}
        copies = Counter(m.mail["Message-ID"] for m in inbox.to(TEAMS_PEOPLE["mash"].email))
        assert set(copies.values()) == {1}
        assert set(copies) == {f"<escalation-bot.outbox-{i}@cscp.example>" for i in to_sam}
    finally:
        await env.teams.close()
        await env.stop()
