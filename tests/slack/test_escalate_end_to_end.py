"""One case from /escalate through Stage 3 (the CSCP channel and its thread) to a recorded resolution."""
from sqlmodel import select

from storage.models import Escalation, OutboxMessage
from tests.slack.conftest import CSCP_CHANNEL, PEOPLE

FORM = {
    "child_initials": "J.S.",
    "child_case_reference": "MOS-123456",
    "level_of_need": "Child in Need",
    "raiser_role": "Designated safeguarding lead",
    "raiser_agency": "School or college",
    "other_agency": "Children's Social Care (MASH)",
    "professionals": [PEOPLE["mash"].id],
    "themes": ["Levels of safeguarding or protection need", "Criteria for referrals"],
    "key_dates": "Referral 20 March 2026; MASH decision 25 March 2026.",
    "evidence_of_need": "Repeated absence; disclosures to the class teacher.",
    "decision_disagreed": "MASH closed the referral with no further action.",
    "interventions_to_date": "Early Help assessment; school nurse.",
    "outcome_wanted": "A Child and Family assessment.",
}


def card_in(messages):
    """The latest case card among a person's direct messages (updated in place by the bot)."""
    cards = [m for m in messages if any(b.get("block_id") == "case_actions" for b in m.blocks)]
    assert cards, "no case card was sent"
    return cards[-1]


async def raise_case(running, who="teacher", form=FORM):
    user = PEOPLE[who].id
    reply = await running.slack.command(user)
    assert reply.status == 200
    assert running.standin.open_view(user)["callback_id"] == "escalate_gate"
    reply = await running.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "yes"})
    assert reply.body["response_action"] == "update"
    assert running.standin.open_view(user)["callback_id"] == "escalate_form"
    reply = await running.slack.submit(user, form)
    await running.deliver()
    return reply


async def press(running, who, action_id, answers):
    user = PEOPLE[who].id
    card = card_in(running.dms(who))
    reply = await running.slack.click(user, card.blocks, action_id)
    assert reply.status == 200
    view = running.standin.open_view(user)
    assert view is not None, f"{action_id} opened no modal"
    reply = await running.slack.submit(user, answers)
    await running.deliver()
    return reply, view


async def test_a_case_from_escalate_to_a_resolution_at_stage_3(running):
    reply = await raise_case(running)
    assert reply.body["response_action"] == "update"
    assert "ESC-2026-0001" in str(reply.body["view"])

    # The raiser has the card; the MASH worker is invited to talk first.
    teacher_card = card_in(running.dms("teacher"))
    assert "ESC-2026-0001 · Stage 1 of 5: Frontline practitioners" in str(teacher_card.blocks)
    assert "Tuesday 14 April 2026, 5pm" in str(teacher_card.blocks)
    assert "get in touch" in running.dms("mash")[0].text
    assert not running.cscp_posts()

    # Stage 1 → 2, by the raiser, naming both line managers.
    reply, view = await press(running, "teacher", "case_escalate", {
        "reason": "We talked; MASH stands by its decision.",
        "next_holders": [PEOPLE["head"].id, PEOPLE["mash_manager"].id]})
    assert view["callback_id"] == "case_escalate_view"
    assert reply.status == 200 and not reply.body.get("response_action")
    assert "You now hold *Stage 2 (Line managers)*" in running.dms("head")[0].text
    # Every copy of the card shows Stage 2: the raiser's, the MASH worker's.
    for who in ("teacher", "mash"):
        assert "Stage 2 of 5: Line managers" in str(card_in(running.dms(who)).blocks), who
    assert not running.cscp_posts()

    # Stage 2 → 3 by a line manager: the CSCP team is told.
    await press(running, "head", "case_escalate", {
        "reason": "Managers could not agree.", "next_holders": [PEOPLE["service_manager"].id],
        "key_learning": "Agree thresholds language early."})
    posts = running.cscp_posts()
    assert len(posts) == 1
    post = posts[0]
    assert "Escalation notification: ESC-2026-0001" in str(post.blocks)
    assert "Stage 3 of 5: Service managers" in str(post.blocks)
    assert "MASH closed the referral" in str(post.blocks)
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert [m.text.split("*")[1] for m in thread] == ["Stage 3 (Service managers) started"]
    assert "Stage 2 was not resolved._ Key learning: Agree thresholds language early." in thread[0].text

    # At Stage 3 the card offers a reflective group consultation; the request goes to the thread.
    await press(running, "service_manager", "case_consultation", {"consultation_note": "Stuck on thresholds."})
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert "reflective group consultation is requested" in thread[-1].text
    assert "Request reflective consultation" not in str(card_in(running.dms("service_manager")).blocks)

    # Resolved at Stage 3.
    await press(running, "service_manager", "case_resolve", {
        "outcome_kind": "decision_changed", "decision_outcome": "MASH will start a Child and Family assessment.",
        "key_learning": "Explain threshold decisions to referrers in writing.", "outcome_date": "2026-04-01"})
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert "Resolved at Stage 3" in thread[-1].text
    assert "Explain threshold decisions" in thread[-1].text
    assert "Resolved at Stage 3" in str(running.cscp_posts()[0].blocks)  # the post itself updated in place
    assert "was resolved at Stage 3" in running.dms("teacher")[-1].text
    teacher_card = card_in(running.dms("teacher"))
    assert "case_escalate" not in str(teacher_card.blocks)  # no actions left but History

    with running.ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).one().status == "resolved"
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_nothing_about_a_child_is_written_to_the_logs(running, caplog):
    caplog.set_level("INFO")
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "Still disagree.", "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    assert "ESC-2026-0001" in caplog.text  # cases are logged, by reference
    for words in ("J.S.", "MOS-123456", "disclosures", "MASH closed the referral", "Child and Family"):
        assert words not in caplog.text


async def test_the_raisers_role_and_agency_are_remembered(running):
    await raise_case(running)
    user = PEOPLE["teacher"].id
    await running.slack.command(user)
    await running.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "yes"})
    form = running.standin.open_view(user)
    blocks = {b.get("block_id"): b for b in form["blocks"]}
    assert blocks["raiser_role"]["element"]["initial_value"] == "Designated safeguarding lead"
    assert blocks["raiser_agency"]["element"]["initial_option"]["value"] == "School or college"


async def test_immediate_risk_shows_what_to_do_and_stores_nothing(running):
    user = PEOPLE["teacher"].id
    await running.slack.command(user)
    reply = await running.slack.submit(user, {"immediate_risk": "yes", "discussed_with_manager": "yes"})
    text = str(reply.body["view"])
    assert "999" in text and "020 8255 2888" in text and "020 8726 6400" in text
    assert "Nothing has been saved" in text
    with running.ctx.db.transaction() as session:
        assert not session.exec(select(Escalation)).all()


async def test_not_yet_discussed_with_a_manager_explains_that_comes_first(running):
    user = PEOPLE["teacher"].id
    await running.slack.command(user)
    reply = await running.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "no"})
    assert "line manager or safeguarding lead" in str(reply.body["view"])
    with running.ctx.db.transaction() as session:
        assert not session.exec(select(Escalation)).all()
