"""The sandbox in a real browser (Debian's Chromium, driven by Playwright): raise a case as one
person, escalate it as others, find the post in the CSCP channel. Screenshots are saved for the
README when UPDATE_SCREENSHOTS=1."""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from bot.sandbox.server import start_sandbox
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


async def name_holder_as(page, name, message_words, holders):
    await be(page, name)
    await page.wait_for_selector(f"#feed :text('{message_words}')")
    await page.click("#feed button[data-action='case_name_holder'] >> nth=-1")
    await page.wait_for_selector("#modal-title:has-text('Name the holder')")
    await page.select_option("#in-holders", holders)
    await page.click("#modal-submit")
    await page.wait_for_selector("#overlay", state="hidden")


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
    await page.select_option("#in-professionals", ["U02MASHSW"])
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

    # Priya talked with Tom (MASH); it has not settled it, so she escalates and names her own line manager.
    await escalate_as(page, "Priya Shah", "You raised", 2, "We talked; MASH stands by its decision.", ["U03HEAD"])
    # MASH is asked to name its own Stage 2 holder: Tom names his team manager.
    await name_holder_as(page, "Tom Reid", "Please name who holds Stage 2", ["U04MASHTM"])
    # Grace, the headteacher, now holds Stage 2 for the school and takes it to Stage 3; Dan names MASH's.
    await escalate_as(page, "Grace Okafor", "You now hold", 3, "The line managers could not agree.", ["U05SERVICE"])
    await name_holder_as(page, "Dan Hughes", "please name who holds Stage 3", ["U07MASHSM"])

    # The CSCP team sees the notification in their channel, and the case on their App Home.
    await be(page, "Sam Patel")
    await page.click("button[data-tab='channel']")
    await page.wait_for_selector("#feed .blk-header:has-text('Escalation notification: ESC-2026-0001')")
    assert "Stage 3 (Service managers) started" in await page.text_content("#feed .thread")
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
    # Everything the bot sent, Slack (the stand-in) accepted.
    assert sandbox.standin.calls and all(c.ok for c in sandbox.standin.calls)
