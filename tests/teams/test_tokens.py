"""Every activity is authenticated by the SDK's token validation before any handler sees it: a token that is
forged, expired, for another bot or for another service URL gets 401, and nothing happens."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select

from storage.models import Account, Person
from tests.teams.conftest import PEOPLE


def nothing_happened(running) -> None:
    assert running.standin.calls == [], "no handler ran: it would have asked the Connector who is writing"
    assert running.standin.activities == []
    with running.ctx.db.transaction() as session:
        assert session.exec(select(Person)).all() == [] and session.exec(select(Account)).all() == []


async def test_a_properly_signed_hello_gets_the_welcome_card(running):
    teacher = running.standin.install_for(PEOPLE["teacher"]).user
    reply = await running.teams.say(teacher, "hello")
    assert reply.status == 200
    (sent,) = running.standin.sent_to_user(teacher)
    (card,) = sent.cards
    assert "Escalation and Resolution" in str(card["body"])
    raise_button = next(a for a in card["actions"] if a["title"] == "Raise an escalation")
    assert raise_button["data"]["msteams"] == {"type": "task/fetch"}


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda s, a: s.sign(service_url=a["serviceUrl"], key=rsa.generate_private_key(65537, 2048)),
            id="forged-signature",
        ),
        pytest.param(lambda s, a: s.sign(service_url=a["serviceUrl"], expires_in=-600), id="expired"),
        pytest.param(
            lambda s, a: s.sign(service_url=a["serviceUrl"], audience="22222222-2222-4222-8222-222222222222"),
            id="wrong-audience",
        ),
        pytest.param(lambda s, a: s.sign(service_url="https://smba.attacker.example/teams/"), id="wrong-service-url"),
        pytest.param(
            lambda s, a: s.sign(service_url=a["serviceUrl"], issuer="https://sts.attacker.example/"), id="wrong-issuer"
        ),
        pytest.param(lambda s, a: "", id="no-token"),
    ],
)
async def test_a_bad_token_gets_401_and_changes_nothing(running, forge):
    teacher = running.standin.install_for(PEOPLE["teacher"]).user
    activity = running.standin.message(teacher, "list")
    reply = await running.teams.post(activity, token=forge(running.standin, activity))
    assert reply.status == 401
    nothing_happened(running)


async def test_a_token_for_one_service_url_does_not_carry_an_activity_naming_another(running):
    """The service URL is where the bot would send its answer: a token signed for the stand-in's cannot send
    the bot's reply (and the sender's name and e-mail read back) to somewhere else."""
    teacher = running.standin.install_for(PEOPLE["teacher"]).user
    activity = running.standin.message(teacher, "hello")
    token = running.standin.sign(service_url=activity["serviceUrl"])
    activity["serviceUrl"] = "https://smba.attacker.example/teams/"
    reply = await running.teams.post(activity, token=token)
    assert reply.status == 401
    nothing_happened(running)


async def test_a_body_that_is_not_an_activity_is_refused_before_the_sdk(running):
    async with running.teams.session.post(
        running.teams.bot_url, data=b"[1, 2", headers={"Authorization": "Bearer x"}
    ) as response:
        assert response.status == 400
    nothing_happened(running)


async def test_an_activity_the_sdk_cannot_read_is_not_quoted_in_the_log(running, caplog):
    teacher = running.standin.install_for(PEOPLE["teacher"]).user
    activity = running.standin.message(teacher, "Jane Smith was born 3 March 2015")
    activity["conversation"] = "Jane Smith, 12 Acacia Road"  # not an activity the SDK can read
    with caplog.at_level("DEBUG"):
        reply = await running.teams.post(activity)
    assert reply.status == 500
    assert any(r.name.startswith("microsoft_teams") and r.levelname == "ERROR" for r in caplog.records)
    assert "Jane" not in caplog.text and "Acacia" not in caplog.text
