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


def buttons(message) -> set[str]:
    return {e["action_id"] for b in message.blocks if b.get("type") == "actions" for e in b["elements"]}


FORMAL = {
    "concerns": "No assessment yet.",
    "decision_outcome": "MASH upholds its decision.",
    "key_learning": "Agree thresholds language early.",
}


async def test_a_whole_case_with_both_sides_at_every_stage_to_the_executives_decision(running):
    reply = await raise_case(running)
    assert reply.body["response_action"] == "update"
    assert "ESC-2026-0001" in str(reply.body["view"])

    # The raiser has the card; the MASH worker is invited to talk first. Each copy has its reader's buttons.
    teacher_card = card_in(running.dms("teacher"))
    assert "ESC-2026-0001 · Stage 1 of 5: Frontline practitioners" in str(teacher_card.blocks)
    assert "Tuesday 14 April 2026, 5pm" in str(teacher_card.blocks)
    assert {"case_resolve", "case_escalate", "case_withdraw"} <= buttons(teacher_card)
    mash_card = card_in(running.dms("mash"))
    assert "get in touch" in running.dms("mash")[0].text
    assert {"case_propose", "case_ask_escalate", "case_note"} <= buttons(mash_card)
    assert not {"case_resolve", "case_escalate", "case_withdraw"} & buttons(mash_card)
    assert not running.cscp_posts()

    # Stage 1 → 2: the raising side names its own line manager; MASH is asked to name theirs.
    reply, view = await press(
        running,
        "teacher",
        "case_escalate",
        {"reason": "We talked; MASH stands by its decision.", "next_holders": [PEOPLE["head"].id]},
    )
    assert view["callback_id"] == "case_escalate_view"
    assert reply.status == 200 and not reply.body.get("response_action")
    assert "You now hold Stage 2 (Line managers)" in running.dms("head")[0].text
    assert "Please name who holds Stage 2" in running.dms("mash")[-1].text
    assert "awaited" in str(card_in(running.dms("head")).blocks)
    # Now the teacher is an earlier holder: a note, the details, the correction of a mistake; no decisions. Her
    # card is settled: it says what stays, so it is not redrawn each time the case moves.
    assert "You raised it and held Stage 1 (Frontline practitioners)" in str(card_in(running.dms("teacher")).blocks)
    assert "Stage 2" not in str(card_in(running.dms("teacher")).blocks)
    assert buttons(card_in(running.dms("teacher"))) == {
        "case_note",
        "case_correct",
        "case_details",
        "case_history",
        "case_record_for_file",
    }
    await press(running, "mash", "case_name_holder", {"holders": [PEOPLE["mash_manager"].id]})
    assert "You now hold Stage 2 (Line managers)" in running.dms("mash_manager")[0].text
    assert "awaited" not in str(card_in(running.dms("head")).blocks)

    # Stage 2 → 3: the CSCP team is told, with the partnership's own buttons on its post.
    await press(
        running,
        "head",
        "case_escalate",
        {
            "reason": "Managers could not agree.",
            "next_holders": [PEOPLE["service_manager"].id],
            "key_learning": "Agree thresholds language early.",
        },
    )
    await press(running, "mash_manager", "case_name_holder", {"holders": [PEOPLE["mash_service"].id]})
    posts = running.cscp_posts()
    assert len(posts) == 1
    post = posts[0]
    assert "Escalation notification: ESC-2026-0001" in str(post.blocks)
    assert "Stage 3 of 5: Service managers" in str(post.blocks)
    assert "MASH closed the referral" in str(post.blocks)
    assert buttons(post) == {
        "case_note",
        "case_record_consultation",
        "case_chase",
        "case_hand_over",
        "case_details",
        "case_history",
        "case_notification_form",
    }
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    assert thread[0].text.startswith("*Stage 3 (Service managers) started.* On Wednesday 1 April 2026")
    assert "Key learning: Agree thresholds language early." in thread[0].text
    # The notification form comes with that news, in the same message.
    assert [f["title"] for f in thread[0].files] == ["CSCP Escalation Notification Form, ESC-2026-0001, at Stage 3"]

    # Either side's Stage 3 holder may request a reflective consultation; the CSCP team records it.
    await press(running, "mash_service", "case_consultation", {"consultation_note": "Stuck on thresholds."})
    assert (
        "reflective group consultation is requested"
        in running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)[-1].text
    )
    user = PEOPLE["cscp"].id
    await running.slack.click(user, running.cscp_posts()[0].blocks, "case_record_consultation")
    await running.slack.submit(user, {"consultation_arranged_for": "2026-04-01"})
    await running.deliver()
    assert "arranged for Wednesday 1 April 2026" in running.dms("service_manager")[-1].text

    # Stage 3 → 4 asks for the notification form's answers; Stage 4 → 5 goes to the configured Executive.
    await press(
        running,
        "service_manager",
        "case_escalate",
        {"reason": "Still stuck.", "next_holders": [PEOPLE["director"].id], **FORMAL},
    )
    await press(running, "mash_service", "case_name_holder", {"holders": [PEOPLE["mash_director"].id]})
    await press(running, "director", "case_escalate", {"reason": "We ask the Executive to decide.", **FORMAL})
    assert "Independent Scrutineer" in running.dms("scrutineer")[-1].text
    exec_card = card_in(running.dms("executive"))
    assert "Stage 5 of 5: CSCP Executive" in str(exec_card.blocks)
    assert "case_decision" in buttons(exec_card)
    for party in ("teacher", "director", "mash_director"):
        assert "case_decision" not in buttons(card_in(running.dms(party))), party

    await press(
        running,
        "executive",
        "case_decision",
        {
            "outcome_kind": "decision_changed",
            "decision_outcome": "MASH will start a Child and Family assessment.",
            "key_learning": "Explain threshold decisions to referrers in writing.",
            "outcome_date": "2026-04-01",
            "action_1_what": "Start the assessment",
            "action_1_owner": PEOPLE["mash_director"].id,
            "action_1_due": "2026-04-08",
        },
    )
    thread = running.standin.messages_in(CSCP_CHANNEL, thread_ts=post.ts)
    # The outcome, with the notification form as the case closed it, in one message.
    assert "Decided at Stage 5" in thread[-1].text and "Start the assessment" in thread[-1].text
    assert [f["title"] for f in thread[-1].files] == ["CSCP Escalation Notification Form, ESC-2026-0001, at closure"]
    assert "Decided at Stage 5" in str(running.cscp_posts()[0].blocks)  # the post itself updated in place
    everyone = (
        "teacher",
        "mash",
        "head",
        "mash_manager",
        "service_manager",
        "mash_service",
        "director",
        "mash_director",
        "executive",
    )
    for person in everyone:
        told = running.dms(person)[-1]
        assert "was decided at Stage 5" in told.text, person
        # The last holders of each side have the record for their agency's file with it.
        records = [f["title"] for f in told.files]
        agency = {"director": "School or college", "mash_director": "Children's Social Care (MASH)"}.get(person)
        assert records == ([f"Escalation record for {agency}'s file, ESC-2026-0001, at closure"] if agency else [])
        # One card each, wherever the case went: later news came in its thread.
        assert len([m for m in running.dms(person) if m.thread_ts is None and "case_actions" in str(m.blocks)]) == 1
    # Closed: the copy of who held the last stage keeps only the details, history and paperwork.
    assert buttons(card_in(running.dms("executive"))) <= {
        "case_details",
        "case_history",
        "case_correct",
        "case_notification_form",
        "case_record_for_file",
    }
    # The others' copies settled when the case moved on from them, and stay as they were: a note on one now is
    # refused, saying why.
    for person in everyone[:-1]:
        assert "The escalation has moved on" in str(card_in(running.dms(person)).blocks), person
    # Each settled copy was redrawn once, when the case moved on from its reader; never after.
    for person in everyone[:-1]:
        channel = running.standin.dm_channel(PEOPLE[person].id)
        updates = [c for c in running.standin.ok_calls("chat.update") if c.args["channel"] == channel]
        settled = [c for c in updates if "The escalation has moved on" in str(c.args["blocks"])]
        assert len(settled) == 1 and updates[-1] is settled[0], person
    await running.slack.click(PEOPLE["teacher"].id, card_in(running.dms("teacher")).blocks, "case_note")
    assert "is already closed" in str(running.standin.open_view(PEOPLE["teacher"].id)["blocks"])

    with running.ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).one().status == "closed"
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_the_receiving_sides_proposal_once_accepted_closes_the_case_with_both_names(running):
    await raise_case(running)
    await press(
        running,
        "mash",
        "case_propose",
        {
            "outcome_kind": "action_agreed",
            "decision_outcome": "MASH will review the referral with the school.",
            "key_learning": "Call the referrer before closing.",
            "outcome_date": "2026-04-01",
            "nothing_outstanding": ["yes"],
        },
    )
    assert "proposes that ESC-2026-0001 is resolved" in running.dms("teacher")[-1].text
    with running.ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).one().status == "open"
    await press(running, "teacher", "case_answer_proposal", {"answer": "accept"})
    with running.ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).one().status == "resolved"
    told = running.dms("mash")[-1]  # the outcome, and with it the record for MASH's file
    assert [f["name"] for f in told.files] == ["ESC-2026-0001-record-receiving.docx"]
    last = told.text
    assert "was resolved at Stage 1" in last
    assert "Recorded by Tess Teacher (tess@school.example), agreed with Sam Social (sam@mash.example)." in last
    # The card beside it names them as Slack does.
    assert "Recorded by <@U0TEACHER>, agreed with <@U0MASH>" in str(card_in(running.dms("mash")).blocks)


async def test_nothing_about_a_child_is_written_to_the_logs(running, caplog):
    caplog.set_level("INFO")
    await raise_case(running)
    await press(running, "teacher", "case_escalate", {"reason": "Still disagree.", "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    await press(running, "mash", "case_name_holder", {"holders": [PEOPLE["mash_service"].id]})
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


async def test_what_people_type_is_shown_as_they_typed_it(running):
    hostile = "<!channel> see <https://evil.example|the form> & <@U0CSCP>"
    await raise_case(running, form={**FORM, "key_dates": hostile, "decision_disagreed": hostile})
    await press(running, "teacher", "case_escalate", {"reason": hostile, "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": hostile, "next_holders": [PEOPLE["service_manager"].id]})
    shown = (
        str(running.cscp_posts()[0].blocks)
        + str(card_in(running.dms("teacher")).blocks)
        + "".join(m.text for m in running.standin.messages_in(CSCP_CHANNEL, thread_ts=running.cscp_posts()[0].ts))
    )
    assert "<!channel>" not in shown and "<https://evil" not in shown and "<@U0CSCP>" not in shown
    assert "&lt;!channel&gt; see &lt;https://evil.example|the form&gt; &amp; &lt;@U0CSCP&gt;" in shown


async def test_a_raise_form_submitted_twice_or_replayed_opens_one_case(running):
    import asyncio

    from bot.standin.client import fill

    user = PEOPLE["teacher"].id
    await running.slack.command(user)
    await running.slack.submit(user, {"immediate_risk": "no", "discussed_with_manager": "yes"})
    form = dict(running.standin.open_view(user))
    # A double click: the same form submitted twice at once.
    replies = await asyncio.gather(*(running.slack.submit_values(user, fill(form, FORM)) for _ in range(2)))
    # A replay of the same submission later.
    running.standin.views[form["id"]] = form
    running.standin.view_stacks[user] = [form["id"]]
    replies.append(await running.slack.submit_values(user, fill(form, FORM)))
    for reply in replies:
        assert reply.status == 200 and "ESC-2026-0001" in str(reply.body["view"])
    await running.deliver()
    with running.ctx.db.transaction() as session:
        assert len(session.exec(select(Escalation)).all()) == 1
    assert len([m for m in running.dms("teacher") if m.blocks]) == 1  # one card, not three
