"""The journey in Teams, through real tokened activities: raise in a dialog (the gate, then the form, errors at
the field), the case card with the reader's own Action.Execute buttons, an action's form inside the card, every
copy redrawn, the CSCP channel's post and its thread, the message extension."""

from sqlmodel import func, select

from bot.teams import cards
from flows.escalations import view_case
from storage.models import Escalation
from tests.conftest import a_form
from tests.teams.conftest import CSCP_CHANNEL, PEOPLE
from tests.teams.test_delivery import cards_for, installed
from tests.teams.test_personal_chat import teams_ref

FORM = {
    key: value
    for key, value in a_form().__dict__.items()
    if isinstance(value, str) and key not in ("age_band", "gender", "ethnicity", "send")
}


def dialog_card(reply) -> dict:
    assert reply.status == 200, reply.body
    return reply.body["task"]["value"]["card"]["content"]


def inputs(card: dict) -> list[str]:
    return [item["id"] for item in card["body"] if item.get("type", "").startswith("Input.")]


def submit_data(card: dict) -> dict:
    (submit,) = [a for a in card["actions"] if a["type"] == "Action.Submit"]
    return submit["data"]


def error_under(card: dict, field: str) -> str:
    body = card["body"]
    index = next(i for i, item in enumerate(body) if item.get("id") == field)
    after = body[index + 1]
    assert after.get("color") == "Attention", after
    return after["text"]


def cases(running) -> int:
    with running.ctx.db.transaction() as session:
        return session.exec(select(func.count()).select_from(Escalation)).one()


async def raise_in_a_dialog(running, who: str = "teacher", **changes) -> dict:
    user = PEOPLE[who]
    gate = dialog_card(await running.teams.invoke(user, "task/fetch", {"data": {"dialog_id": cards.RAISE_DIALOG}}))
    assert inputs(gate) == ["immediate_risk", "discussed_with_manager"]
    data = {**submit_data(gate), "immediate_risk": "no", "discussed_with_manager": "yes"}
    form = dialog_card(await running.teams.invoke(user, "task/submit", {"data": data}))
    assert "child_initials" in inputs(form) and "professionals_by_email" in inputs(form)
    answers = {
        **FORM,
        "themes": "Levels of safeguarding or protection need",
        "professionals": PEOPLE["mash"].aad_object_id,
        **changes,
    }
    return dialog_card(await running.teams.invoke(user, "task/submit", {"data": {**submit_data(form), **answers}}))


async def test_raising_in_teams_shows_mistakes_at_the_field_and_then_raises_once(running):
    await installed(running, "teacher", "mash")
    refused = await raise_in_a_dialog(running, key_dates="Seen at CR0 1AB on 3 March")
    assert "postcode" in error_under(refused, "key_dates")
    assert cases(running) == 0
    # The form keeps what was typed, and its key, so the corrected submit raises exactly one case.
    assert next(i for i in refused["body"] if i.get("id") == "evidence_of_need")["value"] == FORM["evidence_of_need"]
    data = {**submit_data(refused), **FORM, "themes": "Levels of safeguarding or protection need"}
    data["professionals"] = PEOPLE["mash"].aad_object_id
    done = dialog_card(await running.teams.invoke(PEOPLE["teacher"], "task/submit", {"data": data}))
    assert "ESC-2026-0001 is open at Stage 1" in str(done)
    again = dialog_card(await running.teams.invoke(PEOPLE["teacher"], "task/submit", {"data": data}))
    assert "ESC-2026-0001" in str(again) and cases(running) == 1
    await running.bot.outbox.drain()
    (teacher_card,) = cards_for(running, "teacher")
    (mash_card,) = cards_for(running, "mash")
    verbs = {a["verb"] for a in teacher_card.cards[0]["actions"]}
    assert {"open:note", "open:resolve", "open:escalate", "open:withdraw"} <= verbs
    assert "open:propose_resolution" in {a["verb"] for a in mash_card.cards[0]["actions"]}
    assert "open:resolve" not in {a["verb"] for a in mash_card.cards[0]["actions"]}


async def test_the_gate_ends_the_dialog_with_guidance_and_saves_nothing(running):
    user = PEOPLE["teacher"]
    gate = dialog_card(await running.teams.invoke(user, "task/fetch", {"data": {"dialog_id": cards.RAISE_DIALOG}}))
    data = {**submit_data(gate), "immediate_risk": "yes", "discussed_with_manager": "yes"}
    guidance = dialog_card(await running.teams.invoke(user, "task/submit", {"data": data}))
    assert "Nothing has been saved" in str(guidance) and not guidance.get("actions")
    assert cases(running) == 0


async def test_the_message_extension_opens_the_same_dialog(running):
    user = PEOPLE["teacher"]
    reply = await running.teams.invoke(
        user, "composeExtension/fetchTask", {"commandId": "raise", "commandContext": "compose"}
    )
    assert inputs(dialog_card(reply)) == ["immediate_risk", "discussed_with_manager"]


async def execute(running, who: str, card: dict, verb: str, **inputs) -> dict:
    offered = card.get("actions", []) + ([card["refresh"]["action"]] if "refresh" in card else [])
    action = next(a for a in offered if a.get("verb") == verb)
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**action["data"], **inputs}}}
    reply = await running.teams.invoke(PEOPLE[who], "adaptiveCard/action", value)
    assert reply.status == 200, reply.body
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    return reply.body["value"]


async def test_an_action_opens_its_form_in_the_card_and_every_copy_is_redrawn(running):
    await installed(running, "teacher", "mash")
    await raise_in_a_dialog(running)
    await running.bot.outbox.drain()
    mash_card = cards_for(running, "mash")[0].cards[0]
    form = await execute(running, "mash", mash_card, "open:note")
    assert "note_text" in inputs(form)
    refused = await execute(running, "mash", form, "submit:note", note_kind="call", note_text="")
    assert "note" in error_under(refused, "note_text").lower()
    after = await execute(running, "mash", form, "submit:note", note_kind="call", note_text="Called Tess; agreed.")
    assert "ESC-2026-0001" in str(after) and "open:note" in {a["verb"] for a in after["actions"]}
    case = view_case(running.ctx, "ESC-2026-0001", teams_ref("teacher"))
    assert [n.text for n in case.notes] == ["Called Tess; agreed."]
    # Escalating by the raiser moves the case; Sam's copy of the card is redrawn in place with Stage 2.
    teacher_card = cards_for(running, "teacher")[0].cards[0]
    form = await execute(running, "teacher", teacher_card, "open:escalate")
    assert {"next_holders", "next_holders_by_email"} <= set(inputs(form))
    await execute(
        running, "teacher", form, "submit:escalate", reason="Not agreed.", next_holders_by_email="hari@school.example"
    )
    await running.bot.outbox.drain()
    redrawn = cards_for(running, "mash")[0]
    assert redrawn.history, "the card was updated in place"
    assert "Stage 2 of 5" in str(redrawn.cards[0])
    # Teams asks for the reader's current card when it is shown: their own actions, as the case stands.
    fresh = await execute(running, "mash", redrawn.cards[0], "refresh")
    assert "Stage 2 of 5" in str(fresh)
    # Sam's latest message says the case has gone to Stage 2: refreshed, it keeps those words above it.
    latest = cards_for(running, "mash")[-1]
    assert latest is not redrawn and "has gone to Stage 2" in latest.cards[0]["body"][0]["text"]
    fresh = await execute(running, "mash", latest.cards[0], "refresh")
    assert fresh["body"][0] == latest.cards[0]["body"][0]


async def test_a_stale_or_forbidden_click_changes_nothing_and_says_why(running):
    await installed(running, "teacher", "mash")
    await raise_in_a_dialog(running)
    await running.bot.outbox.drain()
    mash_card = cards_for(running, "mash")[0].cards[0]
    forged = {**next(a for a in mash_card["actions"] if a["verb"] == "open:note"), "verb": "open:resolve"}
    mash_card = {**mash_card, "actions": [forged]}
    answer = await execute(running, "mash", mash_card, "open:resolve")
    assert answer["body"][0]["color"] == "Attention"
    assert view_case(running.ctx, "ESC-2026-0001", teams_ref("teacher")).is_open


async def test_from_stage_3_the_cscp_channel_has_one_post_per_case_with_a_thread(running):
    await installed(running, "teacher", "mash", "gp")
    await raise_in_a_dialog(running)
    await running.bot.outbox.drain()
    # The teacher takes it to Stage 2, held for the school by someone picked in Teams' people picker...
    form = await execute(running, "teacher", cards_for(running, "teacher")[0].cards[0], "open:escalate")
    await execute(
        running, "teacher", form, "submit:escalate", reason="Not agreed.", next_holders=PEOPLE["gp"].aad_object_id
    )
    await running.bot.outbox.drain()
    # ... who takes it to Stage 3, naming the next holder by e-mail.
    form = await execute(running, "gp", cards_for(running, "gp")[0].cards[0], "open:escalate")
    await execute(
        running,
        "gp",
        form,
        "submit:escalate",
        reason="Still not agreed.",
        next_holders_by_email="Sue Service <sue@croydon.example>",
        concerns="c",
        decision_outcome="d",
        key_learning="k",
    )
    await running.bot.outbox.drain()
    channel = running.standin.sent_to(CSCP_CHANNEL)
    posts = [a for a in channel if not a.reply_to_id]
    replies = [a for a in channel if a.reply_to_id]
    assert len(posts) == 1 and "Escalation notification: ESC-2026-0001" in str(posts[0].cards)
    assert replies and all(r.reply_to_id == posts[0].id for r in replies)
    assert "Stage 3 (Service managers) started" in str(replies[0].cards)
    # A bot cannot attach a file to a Teams channel message: the same reply says the form is ready, and where.
    assert "The Escalation Notification Form for ESC-2026-0001 is ready (at Stage 3)" in str(replies[0].cards)
    assert "escalation-bot form ESC-2026-0001" in str(replies[0].cards)


async def test_the_partnership_team_in_teams_is_configured_ids_and_the_cscp_channels_team(standin, database_url):
    from bot.runtime import build_bot
    from flows.clock import ManualClock
    from flows.policy import load_policy
    from tests.conftest import WED_1_APRIL_2026
    from tests.teams.conftest import teams_settings

    standin.conversations[CSCP_CHANNEL].members = [PEOPLE["gp"]]
    settings = teams_settings(standin, database_url, teams_cscp_members=PEOPLE["mash_manager"].aad_object_id)
    bot = build_bot(settings, load_policy(), ManualClock(WED_1_APRIL_2026))
    assert bot.ctx.partnership_members == {("teams", PEOPLE["mash_manager"].aad_object_id)}
    await bot.teams.refresh_partnership()
    assert bot.ctx.partnership_members == {("teams", p.aad_object_id) for p in (PEOPLE["mash_manager"], PEOPLE["gp"])}
    bot.ctx.db.dispose()


async def test_added_to_a_team_the_bot_says_how_to_make_it_the_cscp_channel(running):
    other = "19:general-of-another-team@thread.tacv2"
    running.standin.add_channel(other)
    reply = await running.teams.post(running.standin.added_to_channel(PEOPLE["teacher"], other))
    assert reply.status in (200, 201)
    (said,) = running.standin.sent_to(other)
    assert f"TEAMS_CSCP_CONVERSATION_ID to {other}" in str(said.cards)
    # In the channel already configured, nothing is said.
    await running.teams.post(running.standin.added_to_channel(PEOPLE["teacher"], CSCP_CHANNEL))
    assert running.standin.sent_to(CSCP_CHANNEL) == []
