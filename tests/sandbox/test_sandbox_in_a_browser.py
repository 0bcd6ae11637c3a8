"""The sandbox in a real browser (Debian's Chromium, driven by Playwright): raise a case in Slack,
answer it in Teams (its cards drawn by Microsoft's Adaptive Cards renderer, each click a tokened
invoke to the bot), escalate it on both sides, find the post in the CSCP channel. Screenshots are
saved for the README when UPDATE_SCREENSHOTS=1."""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from bot.sandbox.server import start_sandbox
from bot.sandbox.workspace import PEOPLE
from flows.policy import load_policy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Chromium flags for a closed network and a root user (see the README's note on the sandbox test).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="needs Debian's chromium (make test installs it when run as root)",
)


@pytest.fixture
async def sandbox(tmp_path):
    running = await start_sandbox(
        load_policy(),
        f"sqlite:///{tmp_path / 'sandbox.db'}",
        port=0,
        start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
    )
    yield running
    await running.stop()


@pytest.fixture
async def page(sandbox, tmp_path):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(sandbox.url)
        yield page
        await browser.close()


async def shot(page, name, tmp_path):
    await page.screenshot(path=str(tmp_path / f"{name}.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def be(page, name):
    await page.select_option("#who", label=name)


async def command(page, text):
    await page.fill("#command", text)
    await page.press("#command", "Enter")


async def escalate_as(page, name, message_words, next_stage, reason, holders):
    await be(page, name)
    await page.wait_for_selector(f"#feed :text('{message_words}')")
    await page.click("#feed button[data-action='case_escalate']")
    await page.wait_for_selector(f"#modal-title:has-text('Escalate to Stage {next_stage}')")
    await page.fill("#in-reason", reason)
    await page.select_option("#in-next_holders", holders)
    await page.click("#modal-submit")
    await page.wait_for_selector("#overlay", state="hidden")


def teams_card(page, words="ESC-2026-0001"):
    """The latest card in the Teams person's chat that has these words, as Teams shows it now."""
    return page.locator("#feed .teams-card").filter(has_text=words).last


async def name_holder_in_teams(page, name, stage, holder):
    """In Teams: the person's case card (refreshed as Teams refreshes it when shown) opens the form inside the
    card; the people picker lists the organisation's people in Teams."""
    await be(page, name)
    await teams_card(page).get_by_role("button", name=f"Name the Stage {stage} holder").click()
    form = teams_card(page, "Name the holder")
    await form.get_by_label(holder).check()
    await form.get_by_role("button", name="Name", exact=True).click()
    await form.wait_for(state="detached")  # answered with the card as the case now stands
    # Their side's holder is named: the case has moved on from them, and their card has settled.
    assert "The escalation has moved on" in await teams_card(page).text_content()


async def test_raise_escalate_and_find_the_post_in_the_cscp_channel(sandbox, page, tmp_path):
    await be(page, "Priya Shah")
    await command(page, "/escalate")
    await page.wait_for_selector("#modal-title:has-text('Raise an escalation')")
    await page.check("input[name='in-immediate_risk'][value='no']")
    await page.check("input[name='in-discussed_with_manager'][value='yes']")
    await page.click("#modal-submit")
    await page.wait_for_selector("#in-child_initials")

    # A mistake first: a full name where the initials go. The error shows at the field.
    await page.fill("#in-child_initials", "Jane Smith")
    await page.fill("#in-child_case_reference", "MOS-123456")
    await page.select_option("#in-level_of_need", "Child in Need")
    await page.fill("#in-raiser_role", "Designated safeguarding lead")
    await page.select_option("#in-raiser_agency", "School or college")
    await page.select_option("#in-other_agency", "Children's Social Care (MASH)")
    # Tom Reid, MASH's social worker, works in Teams: named by his work e-mail.
    await page.fill("#in-professionals_by_email", "tom.reid@mash.example")
    await page.select_option("#in-themes", ["Levels of safeguarding or protection need"])
    await page.fill("#in-key_dates", "Referral 20 March 2026; MASH decision 25 March 2026.")
    await page.fill("#in-evidence_of_need", "Repeated absence; disclosures to the class teacher.")
    await page.fill("#in-decision_disagreed", "MASH closed the referral with no further action.")
    await page.fill("#in-interventions_to_date", "Early Help assessment; school nurse.")
    await page.fill("#in-outcome_wanted", "A Child and Family assessment.")
    await page.click("#modal-submit")
    error = page.locator('#modal-body .input[data-block="child_initials"] .error')
    await error.wait_for()
    assert "at most 4 letters" in await error.text_content()
    await page.locator("#in-child_initials").scroll_into_view_if_needed()
    await shot(page, "1-the-escalation-form", tmp_path)
    await page.fill("#in-child_initials", "J.S.")
    await page.click("#modal-submit")
    await page.wait_for_selector("#modal-title:has-text('Escalation raised')")
    await page.click("#modal-close")

    # The card in Priya's messages.
    await page.wait_for_selector("#feed .blk-header:has-text('ESC-2026-0001')")
    await shot(page, "2-the-case-card", tmp_path)

    # Tom works in Teams: the case reached him there, with his side's actions, drawn by the Adaptive Cards renderer.
    await be(page, "Tom Reid")
    card = teams_card(page)
    await card.get_by_role("button", name="Propose a resolution").wait_for()
    assert not await card.get_by_role("button", name="Escalate to Stage 2").count()  # Priya's, not his
    await shot(page, "5-the-case-card-in-teams", tmp_path)
    # He proposes a resolution: the form opens inside his card (an Action.Execute invoke, answered with a card).
    await card.get_by_role("button", name="Propose a resolution").click()
    form = teams_card(page, "The raising side is asked to accept it")
    await form.get_by_label("The decision was upheld, with shared understanding").check()
    await form.get_by_label("Decision or outcome").fill("MASH's decision stands; the school understands why.")
    await form.get_by_label("Summary of key learning").fill("Explain threshold decisions to referrers in writing.")
    assert await form.get_by_label("Date").input_value() == "2026-04-01"
    await form.get_by_label("Nothing is outstanding").check()
    await form.get_by_role("button", name="Propose", exact=True).click()
    # His card now says so, and no longer offers to propose again.
    await teams_card(page, "Waiting for the raising side's answer").wait_for()
    assert not await teams_card(page).get_by_role("button", name="Propose a resolution").count()
    # Priya's card in Slack changed too: she is asked to answer the proposal.
    await be(page, "Priya Shah")
    await page.wait_for_selector("#feed :text('proposes that ESC-2026-0001 is resolved')")
    await page.wait_for_selector("#feed .msg >> nth=0 >> button[data-action='case_answer_proposal']")
    assert "Resolution proposed" in await page.text_content("#feed .msg >> nth=0")

    # It has not settled it for Priya, so she escalates and names her own line manager.
    reason = "We talked; MASH stands by its decision."
    await escalate_as(page, "Priya Shah", "Resolution proposed", 2, reason, ["U03HEAD"])
    # MASH is asked, in Teams, to name its own Stage 2 holder: Tom names his team manager.
    await name_holder_in_teams(page, "Tom Reid", 2, "Dan Hughes: MASH team manager")
    # Grace, the headteacher, now holds Stage 2 for the school and takes it to Stage 3; Dan names MASH's.
    await escalate_as(page, "Grace Okafor", "You now hold", 3, "The line managers could not agree.", ["U05SERVICE"])
    await name_holder_in_teams(page, "Dan Hughes", 3, "Ola Bello: Service manager, MASH")

    # The CSCP team sees the notification in their channel, and the case on their App Home.
    await be(page, "Sam Patel")
    await page.click("button[data-tab='channel']")
    await page.wait_for_selector("#feed .blk-header:has-text('Escalation notification: ESC-2026-0001')")
    assert "Stage 3 (Service managers) started" in await page.text_content("#feed .thread")
    # With it, the notification form: a Word document the CSCP team can download (a .docx is a zip).
    link = page.locator("#feed .thread a.file:has-text('ESC-2026-0001-notification-form.docx')")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert Path(await download.path()).read_bytes()[:2] == b"PK"
    # As in Slack, only from a conversation one is in: Priya, the raiser, is not in the CSCP channel.
    file_id = (await link.get_attribute("href")).split("/api/files/")[1].split("?")[0]
    assert (await page.request.get(f"{sandbox.url}/api/files/{file_id}?user={PEOPLE[0].id}")).status == 404
    await shot(page, "3-the-cscp-channel", tmp_path)
    await page.click("button[data-tab='home']")
    await page.wait_for_selector("#feed :text('Open escalations with the partnership')")
    await page.wait_for_selector("#feed :text('ESC-2026-0001')")
    await shot(page, "4-app-home", tmp_path)

    # Move the clock on: Maria, holding Stage 3, gets a reminder on the right morning.
    await be(page, "Maria Costa")
    await page.click("button[data-tab='dms']")
    for _ in range(5):
        await page.click("#plus-day")
    await page.wait_for_selector("#feed :text('Reminder:')")

    # Maria records the resolution: radio buttons, text and the date picker, drawn from the bot's view.
    await page.click("#feed button[data-action='case_resolve'] >> nth=-1")
    await page.wait_for_selector("#modal-title:has-text('Resolved')")
    await page.check("input[name='in-outcome_kind'][value='decision_changed']")
    await page.fill("#in-decision_outcome", "MASH will start a Child and Family assessment.")
    await page.fill("#in-key_learning", "Explain threshold decisions to referrers in writing.")
    await page.fill("#in-concerns", "Threshold for a Child and Family assessment.")
    await page.check("input[name='in-nothing_outstanding'][value='yes']")
    assert await page.input_value("#in-outcome_date") == "2026-04-10"  # today on the bot's clock (Friday)
    await page.click("#modal-submit")
    await page.wait_for_selector("#overlay", state="hidden")
    await be(page, "Sam Patel")
    await page.click("button[data-tab='channel']")
    await page.wait_for_selector("#feed .thread :text('Resolved at Stage 3')")
    assert "Explain threshold decisions" in await page.text_content("#feed .thread")
    # Everything the bot sent, Slack and Teams (the stand-ins) accepted.
    assert sandbox.standin.calls and all(c.ok for c in sandbox.standin.calls)
    assert sandbox.teams_standin.calls and all(c.status < 400 for c in sandbox.teams_standin.calls)


async def test_raising_in_teams_opens_the_raise_dialog_and_its_steps_are_the_bots_answers(sandbox, page, tmp_path):
    """The welcome card's button opens the dialog (task/fetch); each step's submit is a task/submit the bot
    answers with the next card: the policy's two questions, then the form, or the guidance and nothing saved."""
    await be(page, "Ola Bello")
    await teams_card(page, "Escalation and Resolution").get_by_role("button", name="Raise an escalation").click()
    dialog = page.locator("#dialog-body")
    await dialog.get_by_text("Is a child at immediate risk of harm?").wait_for()
    assert await page.text_content("#dialog-title") == "Raise an escalation"
    await dialog.get_by_role("radio", name="Yes").nth(0).check()
    await dialog.get_by_role("radio", name="Yes").nth(1).check()
    await dialog.get_by_role("button", name="Next").click()
    await dialog.get_by_text("Nothing has been saved").wait_for()
    assert not await dialog.get_by_role("button").count()
    await page.click("#dialog-close")
    # Again, with no immediate risk: the escalation form itself, with its fields.
    await teams_card(page, "Escalation and Resolution").get_by_role("button", name="Raise an escalation").click()
    await dialog.get_by_role("radio", name="No").nth(0).check()
    await dialog.get_by_role("radio", name="Yes").nth(1).check()
    await dialog.get_by_role("button", name="Next").click()
    await dialog.get_by_label("Child's initials").wait_for()
    await shot(page, "6-the-raise-dialog-in-teams", tmp_path)
    assert all(c.status < 400 for c in sandbox.teams_standin.calls)
