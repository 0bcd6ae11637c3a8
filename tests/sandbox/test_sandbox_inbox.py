"""The sandbox's e-mail inbox, over its page's HTTP API: someone named only by e-mail is e-mailed by the bot
through the sandbox's own mail server, and the page lists what arrived."""

from datetime import UTC, datetime

import aiohttp

from bot.sandbox.server import start_sandbox
from bot.sandbox.workspace import EMAIL_ONLY, PEOPLE
from bot.standin.client import fill
from flows.policy import load_policy
from tests.slack.test_escalate_end_to_end import FORM


async def test_the_gp_named_by_email_gets_an_email_the_page_lists(tmp_path):
    sandbox = await start_sandbox(
        load_policy(),
        f"sqlite:///{tmp_path / 'sandbox.db'}",
        port=0,
        start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
    )
    priya = PEOPLE[0].id
    name, email, _ = EMAIL_ONLY[0]
    try:
        async with aiohttp.ClientSession(sandbox.url) as page:

            async def post(path, body):
                async with page.post(path, json={"user": priya, **body}) as reply:
                    assert reply.status == 200
                    return await reply.json()

            await post("/api/command", {"text": "/escalate"})
            await post(
                "/api/submit",
                {
                    "values": fill(
                        sandbox.standin.open_view(priya), {"immediate_risk": "no", "discussed_with_manager": "yes"}
                    )
                },
            )
            form = dict(FORM, professionals=[], professionals_by_email=f"{name} <{email}>")
            answer = await post("/api/submit", {"values": fill(sandbox.standin.open_view(priya), form)})
            assert answer["response_action"] == "update"
            async with page.get("/api/state", params={"user": priya}) as reply:
                state = await reply.json()
        assert state["email_people"] == [{"name": name, "email": email, "title": EMAIL_ONLY[0][2]}]
        (mail,) = state["inbox"]
        assert mail["to"] == email
        assert mail["subject"] == "ESC-2026-0001: invitation to talk a disagreement through (Stage 1)"
        assert "Priya Shah (priya.shah@school.example)" in mail["text"]
    finally:
        await sandbox.stop()
