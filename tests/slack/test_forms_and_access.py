"""Inline errors at the field that is wrong; strangers can neither see nor act; the other commands."""

import pytest
from sqlmodel import select

from storage.models import AuditEvent, Escalation, StageRecord
from tests.slack.conftest import PEOPLE
from tests.slack.test_escalate_end_to_end import FORM, card_in, press, raise_case


def _count(running, model):
    with running.ctx.db.transaction() as session:
        return len(session.exec(select(model)).all())


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("child_initials", "Jane Smith", "at most 4 letters"),
        ("child_initials", "J5", "Initials can only contain letters"),
        ("child_case_reference", "flat 3; 12 High St", "only contain"),
        ("child_case_reference", "", "case reference"),
        ("raiser_role", "", "your role"),
        ("level_of_need", None, "level of need"),
        ("raiser_agency", None, "your agency"),
        ("other_agency", None, "other agency"),
        ("themes", [], "at least one"),
        ("key_dates", "", "key dates"),
        ("evidence_of_need", "", "evidence of need"),
        ("decision_disagreed", "", "disagree with"),
        ("interventions_to_date", "", "interventions"),
        ("outcome_wanted", "", "outcome you want"),
        ("professionals", [PEOPLE["teacher"].id], "yourself"),
        ("professionals_by_email", "Pat Police <not-an-email>", "e-mail address"),
        ("professionals_by_email", "pat@police.example; sam@", "e-mail address"),
    ],
)
async def test_every_invalid_field_of_the_form_gets_its_inline_error(running, field, value, words):
    form = dict(FORM, **{field: value})
    reply = await raise_case(running, form=form)
    assert reply.body["response_action"] == "errors"
    assert list(reply.body["errors"]) == [field]
    assert words in reply.body["errors"][field]
    assert _count(running, Escalation) == 0
    # The form stays open with what was typed, for the person to correct.
    assert running.standin.open_view(PEOPLE["teacher"].id)["callback_id"] == "escalate_form"


async def test_someone_not_in_the_workspace_is_named_by_email(running):
    form = dict(FORM, professionals=[], professionals_by_email="Pat Police <pat@police.example>")
    reply = await raise_case(running, form=form)
    assert reply.body["response_action"] == "update"
    assert "Pat Police (pat@police.example)" in str(card_in(running.dms("teacher")).blocks)


@pytest.mark.parametrize(
    "action_id, answers, field",
    [
        ("case_escalate", {"reason": "", "next_holders": [PEOPLE["head"].id]}, "reason"),
        (
            "case_resolve",
            {
                "outcome_kind": "action_agreed",
                "decision_outcome": "Agreed.",
                "key_learning": "k",
                "outcome_date": "2026-04-02",
                "nothing_outstanding": ["yes"],
            },
            "outcome_date",
        ),
        (
            "case_resolve",
            {
                "outcome_kind": "action_agreed",
                "decision_outcome": "",
                "key_learning": "k",
                "outcome_date": "2026-04-01",
                "nothing_outstanding": ["yes"],
            },
            "decision_outcome",
        ),
        (
            "case_resolve",
            {
                "outcome_kind": "action_agreed",
                "decision_outcome": "d",
                "key_learning": "",
                "outcome_date": "2026-04-01",
                "nothing_outstanding": ["yes"],
            },
            "key_learning",
        ),
        ("case_withdraw", {"reason": "  "}, "reason"),
        ("case_note", {"note_kind": "call", "note_text": ""}, "note_text"),
    ],
)
async def test_every_invalid_field_of_a_stage_action_gets_its_inline_error(running, action_id, answers, field):
    await raise_case(running)
    stages, audit = _count(running, StageRecord), _count(running, AuditEvent)
    reply, _ = await press(running, "teacher", action_id, answers)
    assert reply.body["response_action"] == "errors"
    assert list(reply.body["errors"]) == [field]
    assert _count(running, StageRecord) == stages
    assert _count(running, AuditEvent) == audit  # a refused form records nothing


async def test_a_stranger_can_neither_see_nor_act_and_is_refused_politely(running):
    await raise_case(running)
    stranger = PEOPLE["stranger"].id
    reply = await running.slack.command(stranger, "ESC-2026-0001")
    # The same words as for a case that does not exist: strangers learn nothing.
    missing = await running.slack.command(stranger, "ESC-2026-0404")
    assert reply.body["text"] == missing.body["text"].replace("0404", "0001")
    assert "blocks" not in reply.body

    # A card's button pressed by someone not in the case (say, a forwarded card).
    card = card_in(running.dms("teacher"))
    versions = _count(running, StageRecord)
    await running.slack.click(stranger, card.blocks, "case_escalate")
    refusal = running.standin.open_view(stranger)
    assert refusal["title"]["text"] == "Nothing was done"
    assert "There is no escalation ESC-2026-0001 that you can see" in str(refusal["blocks"])

    # The escalate form itself, filled in and submitted by the stranger, changes nothing either.
    await running.slack.click(PEOPLE["teacher"].id, card.blocks, "case_escalate")
    running.standin.view_stacks[stranger] = list(running.standin.view_stacks[PEOPLE["teacher"].id])
    reply = await running.slack.submit(stranger, {"reason": "Mine now.", "next_holders": [stranger]})
    assert reply.body["response_action"] == "update"
    assert "There is no escalation ESC-2026-0001 that you can see" in str(reply.body["view"])
    assert _count(running, StageRecord) == versions

    await running.slack.click(stranger, card.blocks, "case_history")
    assert "that you can see" in str(running.standin.open_view(stranger)["blocks"])

    with running.ctx.db.transaction() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).all()
    # The look-up by reference, the button, the submitted form, the history.
    assert len(refused) == 4


async def test_a_stale_or_repeated_click_changes_nothing(running):
    await raise_case(running)
    old_card = card_in(running.dms("teacher")).blocks
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    # The same button on the card as it was before (a second tab, a double click).
    await running.slack.click(PEOPLE["teacher"].id, old_card, "case_escalate")
    notice = running.standin.open_view(PEOPLE["teacher"].id)
    assert "has changed since you opened it" in str(notice["blocks"])
    assert _count(running, StageRecord) == 2


async def test_list_help_and_a_case_by_reference(running):
    await raise_case(running)
    teacher = PEOPLE["teacher"].id
    listing = await running.slack.command(teacher, "list")
    assert "ESC-2026-0001" in str(listing.body["blocks"]) and "You raised" in str(listing.body["blocks"])
    assert "no open escalations" in str((await running.slack.command(PEOPLE["head"].id, "list")).body)
    card = await running.slack.command(PEOPLE["mash"].id, "esc-2026-0001")
    assert "Stage 1 of 5" in str(card.body["blocks"])
    helped = await running.slack.command(teacher, "help")
    for words in ("Whistleblowing", "020 8726 6400", "Restorative in approach", "Stage 3: Service managers"):
        assert words in str(helped.body["blocks"])
    assert "did not understand" in (await running.slack.command(teacher, "what is this?")).body["text"]
    # By the agency's own case reference: the cases this person may see with it; nothing for others.
    found = await running.slack.command(teacher, "mos-123456")
    assert "ESC-2026-0001" in str(found.body["blocks"])
    assert (
        "no escalation you can see" in (await running.slack.command(PEOPLE["stranger"].id, "MOS-123456")).body["text"]
    )


async def test_app_home_shows_my_cases_and_the_cscp_view(running):
    await raise_case(running)
    teacher_home = str((await running.slack.open_home(PEOPLE["teacher"].id))["blocks"])
    await running.slack.open_home(PEOPLE["cscp"].id)
    assert "Raise an escalation" in teacher_home and "ESC-2026-0001" in teacher_home
    assert "Open escalations with the partnership" not in teacher_home
    cscp_home = str(running.standin.home[PEOPLE["cscp"].id]["blocks"])
    assert "Open escalations with the partnership" in cscp_home
    assert "ESC-2026-0001" not in cscp_home  # Stage 1: not yet with the partnership
    await press(running, "teacher", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["head"].id]})
    await press(running, "head", "case_escalate", {"reason": "r", "next_holders": [PEOPLE["service_manager"].id]})
    # Homes already open are kept current as the case changes: the CSCP team's now shows it.
    assert "ESC-2026-0001" in str(running.standin.home[PEOPLE["cscp"].id]["blocks"])
    assert "Stage 3 of 5" in str(running.standin.home[PEOPLE["teacher"].id]["blocks"])
    # The home button opens the same first question as /escalate.
    home = running.standin.home[PEOPLE["teacher"].id]
    await running.slack.click(PEOPLE["teacher"].id, home["blocks"], "home_raise")
    assert running.standin.open_view(PEOPLE["teacher"].id)["callback_id"] == "escalate_gate"


async def test_app_home_lists_closed_cases_and_the_partnership_filters_its_cases(running):
    from tests.slack.test_escalate_end_to_end import FORM

    await raise_case(running)
    await raise_case(running, form={**FORM, "other_agency": "Metropolitan Police", "themes": ["Information sharing"]})
    for reference in ("ESC-2026-0001", "ESC-2026-0002"):
        for who, holder in (("teacher", "head"), ("head", "service_manager")):
            await running.slack.click(PEOPLE[who].id, _card_of(running, who, reference).blocks, "case_escalate")
            await running.slack.submit(PEOPLE[who].id, {"reason": "r", "next_holders": [PEOPLE[holder].id]})
            await running.deliver()
    cscp = PEOPLE["cscp"].id
    home = await running.slack.open_home(cscp)
    assert "ESC-2026-0001" in str(home["blocks"]) and "ESC-2026-0002" in str(home["blocks"])
    reply = await running.slack.choose(cscp, home, "home_filter_agency", "Metropolitan Police")
    assert reply.status == 200
    await running.standin.wait_for(lambda: "Metropolitan Police" in running.standin.home[cscp]["private_metadata"])
    filtered = str(running.standin.home[cscp]["blocks"])
    assert "ESC-2026-0002" in filtered and "ESC-2026-0001" not in filtered
    await running.slack.choose(
        cscp, running.standin.home[cscp], "home_filter_theme", "Levels of safeguarding or protection need"
    )
    await running.standin.wait_for(lambda: "Levels" in running.standin.home[cscp]["private_metadata"])
    assert "ESC-2026-000" not in str(running.standin.home[cscp]["blocks"])  # both filters apply together
    # A closed case moves under its own heading on App Home.
    head = PEOPLE["head"].id
    assert "Closed" not in str((await running.slack.open_home(head))["blocks"])
    await running.slack.click(
        PEOPLE["service_manager"].id, _card_of(running, "service_manager", "ESC-2026-0001").blocks, "case_withdraw"
    )
    await running.slack.submit(PEOPLE["service_manager"].id, {"reason": "Agreed at a meeting."})
    await running.deliver()
    blocks = [b for b in (await running.slack.open_home(head))["blocks"]]
    headings = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    assert "Closed" in headings
    closed = str(
        blocks[
            headings.index("Closed")
            and [b["type"] == "header" and b["text"]["text"] for b in blocks].index("Closed") + 1
        ]
    )
    assert "ESC-2026-0001" in closed and "Withdrawn at Stage 3" in closed


def _card_of(running, who, reference):
    return [
        m
        for m in running.dms(who)
        if any(b.get("block_id") == "case_actions" for b in m.blocks) and reference in str(m.blocks)
    ][-1]


async def test_the_cscp_team_sees_who_has_read_or_changed_a_case(running):
    await raise_case(running)
    await running.slack.command(PEOPLE["mash"].id, "ESC-2026-0001")  # a read
    await running.slack.command(PEOPLE["stranger"].id, "ESC-2026-0001")  # a refused read
    await running.slack.command(PEOPLE["teacher"].id, "list")  # a list is a read too
    reply = await running.slack.command(PEOPLE["cscp"].id, "audit esc-2026-1")
    shown = str(reply.body["blocks"])
    assert "Who has read or changed ESC-2026-0001" in shown
    for words in (
        "<@U0TEACHER> raised the escalation",
        "<@U0MASH> looked at it",
        "<@U0STRANGER> was refused",
        "<@U0TEACHER> saw it in a list",
    ):
        assert words in shown, words
    # Nobody else may read the audit trail, and learns nothing from asking.
    refused = await running.slack.command(PEOPLE["teacher"].id, "audit ESC-2026-0001")
    assert refused.body["text"] == "There is no escalation ESC-2026-0001 that you can see."
    with running.ctx.db.transaction() as session:
        actions = [a.action for a in session.exec(select(AuditEvent)).all()]
    assert "audit_read" in actions


async def test_naming_yourself_by_your_work_e_mail_is_refused_at_that_field_and_nothing_is_saved(running):
    form = dict(FORM, professionals=[], professionals_by_email=f"Me <{PEOPLE['teacher'].email}>")
    reply = await raise_case(running, form=form)
    assert reply.body == {
        "response_action": "errors",
        "errors": {"professionals_by_email": "The professional you disagree with cannot be yourself."},
    }
    with running.ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).all() == []
    assert not running.dms("teacher")


async def test_a_slack_user_also_named_by_e_mail_is_one_person(running):
    from tests.slack.test_escalate_end_to_end import FORM

    form = {
        **FORM,
        "professionals": [],
        "professionals_by_email": f"Sam Social <{PEOPLE['mash'].email}>",
    }
    await raise_case(running, form=form)
    assert not running.dms("mash")  # named only by e-mail: not messaged in Slack
    # Sam looks the case up in Slack: the directory's work address is the one the raiser gave.
    reply = await running.slack.command(PEOPLE["mash"].id, "ESC-2026-1")
    assert "case_propose" in str(reply.body["blocks"]) and "case_resolve" not in str(reply.body["blocks"])
    await running.slack.click(PEOPLE["mash"].id, reply.body["blocks"], "case_propose")
    await running.slack.submit(
        PEOPLE["mash"].id,
        {
            "outcome_kind": "action_agreed",
            "decision_outcome": "MASH will review.",
            "key_learning": "Call first.",
            "outcome_date": "2026-04-01",
            "nothing_outstanding": ["yes"],
        },
    )
    await running.deliver()
    assert "proposes that ESC-2026-0001 is resolved" in running.dms("teacher")[-1].text
    with running.ctx.db.transaction() as session:
        from storage.models import Person

        assert len([p for p in session.exec(select(Person)).all() if p.email == PEOPLE["mash"].email]) == 1


async def test_app_home_viewers_are_kept_current_by_any_instance(running):
    from bot.slack.home import AppHome
    from flows.escalations import escalate, view_case

    await raise_case(running)
    await running.slack.open_home(PEOPLE["teacher"].id)
    # Another running instance, on the same database, never saw the teacher open App Home.
    other = AppHome(running.ctx, running.bot.app.client, running.bot.directory)
    teacher = await running.bot.directory.person(PEOPLE["teacher"].id)
    published = len(running.standin.ok_calls("views.publish"))
    # Nothing on it changed: it is not published again.
    await other.refresh_for(view_case(running.ctx, "ESC-2026-0001", teacher))
    assert len(running.standin.ok_calls("views.publish")) == published
    case = view_case(running.ctx, "ESC-2026-0001", teacher)
    head = await running.bot.directory.person(PEOPLE["head"].id)
    case = escalate(running.ctx, case.reference, teacher, version=case.version, reason="r", next_holders=[head])
    await other.refresh_for(case)
    assert [c.args["user_id"] for c in running.standin.ok_calls("views.publish")[published:]] == [PEOPLE["teacher"].id]


async def test_a_decision_button_without_the_version_it_was_drawn_at_does_nothing(running):
    # A settled card's buttons carry no version; a decision's button must, or it is not one of ours.
    await raise_case(running)
    blocks = card_in(running.dms("teacher")).blocks
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "case_escalate":
                element["value"] = '{"r": "ESC-2026-0001"}'
    await running.slack.click(PEOPLE["teacher"].id, blocks, "case_escalate")
    assert "could not be read" in str(running.standin.open_view(PEOPLE["teacher"].id)["blocks"])
    assert _count(running, StageRecord) == 1
