"""`escalation-bot run` with Teams settings serves POST /api/messages; with Slack's too, both on one server."""

import os
from pathlib import Path

from bot.cli import main
from bot.standin.server import SlackStandin
from bot.standin.teams_client import TeamsSide
from tests.bot.test_cli import SLACK_SETTINGS, run_until_listening
from tests.databases import free_port
from tests.slack.conftest import PEOPLE as SLACK_PEOPLE
from tests.slack.conftest import _serve, manifest_scopes
from tests.slack.harness import FakeSlackClient
from tests.teams.conftest import APP_ID, APP_PASSWORD, PEOPLE, TENANT_ID

ROOT = Path(__file__).resolve().parents[2]
TEAMS_SETTINGS = (
    "TEAMS_APP_ID",
    "TEAMS_APP_PASSWORD",
    "TEAMS_TENANT_ID",
    "TEAMS_OPENID_METADATA_URL",
    "TEAMS_LOGIN_URL",
)


def teams_env(standin, **more) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS + TEAMS_SETTINGS}
    env.update(
        TEAMS_APP_ID=APP_ID,
        TEAMS_APP_PASSWORD=APP_PASSWORD,
        TEAMS_TENANT_ID=TENANT_ID,
        TEAMS_OPENID_METADATA_URL=standin.openid_metadata_url,
        TEAMS_LOGIN_URL=standin.login_url,
        TEAMS_SERVICE_URL=standin.service_url,
        REQUESTS_CA_BUNDLE=standin.ca_file,
        PYTHONPATH=str(ROOT),
        **more,
    )
    return env


async def test_run_with_teams_settings_serves_api_messages(tmp_path, standin):
    port = free_port()
    env = teams_env(standin, PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}")
    process = await run_until_listening(tmp_path, env, b"listening for Teams")
    teams = TeamsSide(f"http://127.0.0.1:{port}/api/messages", standin)
    try:
        teacher = standin.install_for(PEOPLE["teacher"]).user
        assert (await teams.say(teacher, "hello")).status == 200
        assert "Raise an escalation" in str(standin.sent_to_user(teacher)[-1].cards)
        forged = standin.message(teacher, "hello")
        assert (
            await teams.post(forged, token=standin.sign(service_url=forged["serviceUrl"], audience="someone-else"))
        ).status == 401
        assert len(standin.sent_to_user(teacher)) == 1
    finally:
        process.terminate()
        await process.wait()
        await teams.close()


async def test_run_with_slack_and_teams_serves_both_on_one_port(tmp_path, standin):
    slack_standin = SlackStandin(scopes=manifest_scopes(), users=list(SLACK_PEOPLE.values()))
    slack_runner, slack_port = await _serve(slack_standin.app())
    port = free_port()
    env = teams_env(
        standin,
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'both.db'}",
        SLACK_BOT_TOKEN="xoxb-standin",
        SLACK_SIGNING_SECRET="run-secret",
        CSCP_CHANNEL_ID="C0CSCP",
        SLACK_API_URL=f"http://127.0.0.1:{slack_port}/api/",
    )
    process = await run_until_listening(tmp_path, env, b"listening for Slack", b"listening for Teams")
    slack = FakeSlackClient(f"http://127.0.0.1:{port}/slack/events", slack_standin, secret="run-secret")
    teams = TeamsSide(f"http://127.0.0.1:{port}/api/messages", standin)
    try:
        reply = await slack.command(SLACK_PEOPLE["teacher"].id, "help")
        assert reply.status == 200 and "Stage 5: CSCP Executive" in str(reply.body)
        teacher = standin.install_for(PEOPLE["teacher"]).user
        assert (await teams.say(teacher, "hello")).status == 200
        assert "Raise an escalation" in str(standin.sent_to_user(teacher)[-1].cards)
    finally:
        process.terminate()
        await process.wait()
        await slack.close()
        await teams.close()
        await slack_runner.cleanup()


def test_check_reports_the_teams_settings(monkeypatch, tmp_path, capsys):
    for name in SLACK_SETTINGS + TEAMS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("TEAMS_APP_PASSWORD", APP_PASSWORD)
    monkeypatch.setenv("TEAMS_TENANT_ID", TENANT_ID)
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert f"Teams: app {APP_ID} in tenant {TENANT_ID}" in out and "Slack: off" in out
    assert "https://login.botframework.com/v1/.well-known/openidconfiguration" in out  # Microsoft's by default
    monkeypatch.setenv("TEAMS_TENANT_ID", "contoso")
    monkeypatch.setenv("TEAMS_LOGIN_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("TEAMS_OPENID_METADATA_URL", "https://login.example/keys")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    for words in (
        "TEAMS_TENANT_ID should be",
        "TEAMS_LOGIN_URL should be https://",
        "TEAMS_OPENID_METADATA_URL should be",
    ):
        assert words in err
    assert main(["run"]) == 2  # the bot does not start with Teams half set up
    assert "TEAMS_TENANT_ID should be" in capsys.readouterr().err


def test_a_client_secret_in_the_environment_is_refused_rather_than_used_instead_of_ours(standin, tmp_path, monkeypatch):
    """The SDK reads CLIENT_SECRET from the environment before the token the bot gives it."""
    import pytest

    from bot.runtime import build_bot
    from bot.settings import SettingsError
    from flows.policy import load_policy
    from tests.teams.conftest import teams_settings

    monkeypatch.setenv("CLIENT_SECRET", "someone-elses-secret")
    with pytest.raises(SettingsError, match="CLIENT_SECRET"):
        build_bot(teams_settings(standin, f"sqlite:///{tmp_path / 'x.db'}"), load_policy())
