"""The escalation-bot command as a person runs it."""

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.cli import main
from bot.standin.server import SlackStandin
from flows import escalations as lifecycle
from flows.context import Context
from flows.policy import default_policy_text
from storage.db import Database
from storage.migrate import upgrade
from storage.models import DigestSent, Escalation, OutboxMessage
from tests.conftest import SERVICE_MANAGER, TEACHER, TEACHER_MANAGER, a_form
from tests.databases import SQLITE, free_port
from tests.slack.conftest import PEOPLE, _serve, manifest_scopes
from tests.slack.harness import FakeSlackClient

SLACK_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "CSCP_CHANNEL_ID",
    "CSCP_MEMBERS",
    "CSCP_USERGROUP_ID",
    "PORT",
    "SLACK_API_URL",
    "DATABASE_URL",
    "POLICY_FILE",
    "LOG_LEVEL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "MAIL_FROM",
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path, new_database_url):
    for name in SLACK_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from elsewhere
    monkeypatch.setenv("DATABASE_URL", new_database_url(empty=True))
    return monkeypatch


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "check", "migrate", "digest", "sandbox"):
        assert command in out


def test_run_with_incomplete_settings_names_each_missing_one_and_exits_2(clean_env, capsys):
    clean_env.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    for name in ("SLACK_BOT_TOKEN", "CSCP_CHANNEL_ID"):
        assert name in err
    assert "Traceback" not in err


def test_check_names_every_malformed_setting_together(clean_env, capsys):
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    clean_env.setenv("SLACK_SIGNING_SECRET", "secret")
    clean_env.setenv("CSCP_CHANNEL_ID", "#cscp")
    clean_env.setenv("CSCP_MEMBERS", "U0ABC, bob")
    clean_env.setenv("PORT", "99999")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    for words in (
        "SLACK_BOT_TOKEN should start with xoxb-",
        "CSCP_CHANNEL_ID should be a channel id",
        "CSCP_MEMBERS should be Slack user ids",
        "PORT should be a number",
    ):
        assert words in err


def test_check_reports_a_broken_policy_file(clean_env, tmp_path, capsys):
    policy = tmp_path / "policy.toml"
    policy.write_text(default_policy_text().replace("working_days = 7", "working_days = -1", 1))
    clean_env.setenv("POLICY_FILE", str(policy))
    assert main(["check"]) == 2
    assert "stages.0.working_days" in capsys.readouterr().err


def test_check_passes_with_good_settings_and_migrate_brings_the_database_up(clean_env, databases, capsys):
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    clean_env.setenv("SLACK_SIGNING_SECRET", "secret")
    clean_env.setenv("CSCP_CHANNEL_ID", "C0CSCP")
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    if databases.kind == SQLITE:
        assert "does not exist yet" in out
        assert not list(Path.cwd().glob("*.db"))  # looking created nothing
    else:
        assert "PostgreSQL 1" in out and "no schema yet" in out
    assert main(["migrate"]) == 0
    assert main(["check"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_check_reports_the_email_settings(clean_env, capsys):
    for name, value in (
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_SIGNING_SECRET", "secret"),
        ("CSCP_CHANNEL_ID", "C0CSCP"),
    ):
        clean_env.setenv(name, value)
    assert main(["check"]) == 0
    assert "E-mail: off (SMTP_HOST is not set)" in capsys.readouterr().out
    clean_env.setenv("SMTP_HOST", "smtp.cscp.example")
    clean_env.setenv("SMTP_PORT", "twenty-five")
    clean_env.setenv("SMTP_USERNAME", "bot")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    for words in ("SMTP_PORT should be a number", "MAIL_FROM should be the address", "SMTP_USERNAME and SMTP_PASSWORD"):
        assert words in err
    assert main(["run"]) == 2  # the bot does not start with e-mail half set up
    clean_env.setenv("SMTP_PORT", "587")
    clean_env.setenv("SMTP_PASSWORD", "pw")
    clean_env.setenv("MAIL_FROM", "escalations@cscp.example")
    assert main(["check"]) == 0
    assert "E-mail: on, by smtp.cscp.example:587 (STARTTLS), from escalations@cscp.example." in capsys.readouterr().out


def test_digest_print_shows_the_digest_without_posting(clean_env, capsys):
    database = Database(os.environ["DATABASE_URL"])
    upgrade(database)
    ctx = Context(db=database)  # the real clock, as the command uses
    case = lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)
    for actor, holder in ((TEACHER, TEACHER_MANAGER), (TEACHER_MANAGER, SERVICE_MANAGER)):
        case = lifecycle.escalate(ctx, case.reference, actor, version=case.version, reason="r", next_holders=[holder])
    with database.transaction() as session:
        outbox_before = len(session.exec(select(OutboxMessage)).all())
    assert main(["digest", "--print"]) == 0
    out = capsys.readouterr().out
    assert "CSCP escalations: week of" in out
    assert "Stage 3 (Service managers): 1" in out
    with database.transaction() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == outbox_before  # nothing posted
        assert not session.exec(select(DigestSent)).all()  # nor recorded as the week's digest
    database.dispose()


async def test_escalation_bot_run_connects_by_socket_mode(tmp_path, database_url):
    standin = SlackStandin(scopes=manifest_scopes(), users=list(PEOPLE.values()))
    runner, standin_port = await _serve(standin.app())
    env = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS}
    env.update(
        SLACK_BOT_TOKEN="xoxb-standin",
        SLACK_APP_TOKEN="xapp-standin",
        CSCP_CHANNEL_ID="C0CSCP",
        SLACK_API_URL=f"http://127.0.0.1:{standin_port}/api/",
        DATABASE_URL=database_url,
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    process = await run_until_listening(tmp_path, env, b"connecting to Slack by Socket Mode")
    teacher = PEOPLE["teacher"].id
    command = {
        "command": "/escalate",
        "user_id": teacher,
        "user_name": "tess",
        "team_id": standin.team_id,
        "channel_id": "C0GENERAL",
        "api_app_id": "A0STANDIN",
        "response_url": "https://hooks.invalid/1",
    }
    try:
        await standin.wait_for(lambda: bool(standin.sockets), timeout=30)
        answer = await standin.send_envelope(
            "slash_commands", dict(command, text="help", trigger_id=standin.new_trigger_id(teacher))
        )
        assert "Stage 5: CSCP Executive" in str(answer["blocks"])
        await standin.send_envelope(
            "slash_commands", dict(command, text="", trigger_id=standin.new_trigger_id(teacher))
        )
        await standin.wait_for(lambda: bool(standin.ok_calls("views.open")))
        assert standin.open_view(teacher)["callback_id"] == "escalate_gate"
    finally:
        process.terminate()
        await process.wait()
        await runner.cleanup()


async def sandbox_process(tmp_path, *args: str, **env: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """`escalation-bot …` starting the sandbox in its own process, once it has said where its page is."""
    clean = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(clean, PYTHONPATH=str(Path(__file__).resolve().parents[2]), **env),
    )
    lines: list[str] = []
    while not any("Open http://127.0.0.1:" in line for line in lines):
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            process.terminate()
            raise AssertionError("".join(lines))
        lines.append(line)
    return process, lines


async def test_run_without_any_slack_settings_starts_the_sandbox(tmp_path):
    port = free_port()
    process, lines = await sandbox_process(tmp_path, "run", PORT=str(port))
    try:
        assert "starting the sandbox" in lines[0]
        url = lines[-1].split("Open ")[1].split(" ")[0]
        assert url == f"http://127.0.0.1:{port}/"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 200 and "escalation-bot sandbox" in await response.text()
            async with session.get(url + "api/state?user=U01SCHOOLDSL") as response:
                state = await response.json()
        assert [p["name"] for p in state["people"]][:2] == ["Priya Shah", "Grace Okafor"]
        assert [p["name"] for p in state["teams_people"]][:2] == ["Tom Reid", "Dan Hughes"]
        assert (tmp_path / "sandbox.db").exists()
    finally:
        process.terminate()
        await process.wait()


async def run_until_listening(tmp_path, env: dict, *waiting_for: bytes) -> asyncio.subprocess.Process:
    """`escalation-bot run` in its own process, once its output has said each of `waiting_for`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    seen = b""
    while not all(words in seen for words in waiting_for):
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, "the bot stopped before listening:\n" + seen.decode()
        seen += line
    return process


async def test_escalation_bot_run_serves_signed_slack_requests_over_http(tmp_path, database_url):
    standin = SlackStandin(scopes=manifest_scopes(), users=list(PEOPLE.values()))
    runner, standin_port = await _serve(standin.app())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS}
    env.update(
        SLACK_BOT_TOKEN="xoxb-standin",
        SLACK_SIGNING_SECRET="run-secret",
        CSCP_CHANNEL_ID="C0CSCP",
        SLACK_API_URL=f"http://127.0.0.1:{standin_port}/api/",
        PORT=str(port),
        DATABASE_URL=database_url,
    )
    process = await run_until_listening(
        tmp_path, dict(env, PYTHONPATH=str(Path(__file__).resolve().parents[2])), b"listening for Slack"
    )
    slack = FakeSlackClient(f"http://127.0.0.1:{port}/slack/events", standin, secret="run-secret")
    try:
        reply = await slack.command(PEOPLE["teacher"].id, "help")
        assert reply.status == 200 and "Stage 5: CSCP Executive" in str(reply.body)
        reply = await slack.command(PEOPLE["teacher"].id)  # opens the first modal through the stand-in
        assert standin.open_view(PEOPLE["teacher"].id)["callback_id"] == "escalate_gate"
    finally:
        process.terminate()
        await process.wait()
        await slack.close()
        await runner.cleanup()


def test_retention_dry_run_lists_and_apply_erases(clean_env, capsys):
    from datetime import datetime

    from flows.clock import ManualClock
    from storage.models import Escalation

    database = Database(os.environ["DATABASE_URL"])
    upgrade(database)
    # Closed on 3 January 2024: past 24 months by the time the real clock reads 2026-01-03 or later.
    ctx = Context(db=database, clock=ManualClock(datetime(2024, 1, 3, 10, 0, tzinfo=UTC)))
    case = lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)
    lifecycle.withdraw(ctx, case.reference, TEACHER, version=case.version, reason="Agreed after a call.")
    assert main(["retention"]) == 2
    assert main(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ESC-2024-0001  closed 03 Jan 2024" in out and "1 case would be erased. Nothing was changed." in out
    with database.transaction() as session:
        assert session.exec(select(Escalation)).one().child_initials == "J.S."
    assert main(["retention", "--apply"]) == 0
    assert "Erased 1 case." in capsys.readouterr().out
    with database.transaction() as session:
        row = session.exec(select(Escalation)).one()
        assert row.child_initials == "" and row.withdrawal_reason == "" and row.erased_at is not None
    database.dispose()


def test_check_names_a_database_it_cannot_reach_without_its_password(clean_env, capsys):
    clean_env.setenv("DATABASE_URL", f"postgresql+psycopg://bot:s3cret-pw@127.0.0.1:{free_port()}/escalations")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "Database postgresql+psycopg://bot:***@127.0.0.1:" in err and "cannot be opened: " in err
    assert "s3cret-pw" not in err


def command_line(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`escalation-bot …` as a person runs it: its own process, in `tmp_path`, with only the settings given."""
    clean = {k: v for k, v in os.environ.items() if k not in SLACK_SETTINGS}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=dict(clean, PYTHONPATH=str(Path(__file__).resolve().parents[2]), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


SLACK_BY_HTTP = dict(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="secret", CSCP_CHANNEL_ID="C0CSCP")


@pytest.mark.parametrize("settings", [{}, SLACK_BY_HTTP], ids=["sandbox", "slack"])
def test_a_busy_port_is_one_line_naming_how_to_choose_another_and_nothing_is_created(tmp_path, settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = command_line(tmp_path, "run", PORT=str(port), **settings)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Port {port} is already in use (another program, or the bot already running). "
        "Choose another: PORT=8766 make run, or PORT=8766 escalation-bot run."
    ]
    assert "Traceback" not in done.stdout
    assert not list(tmp_path.glob("*.db"))  # it stopped before opening a database


def test_digest_print_with_no_database_says_so_and_creates_none(tmp_path):
    done = command_line(tmp_path, "digest", "--print", DATABASE_URL="sqlite:///escalations.db")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "There is no database at escalations.db (DATABASE_URL=sqlite:///escalations.db) yet: "
        "the bot creates it when it first starts."
    ]
    assert not (tmp_path / "escalations.db").exists()


async def test_the_sandbox_uses_database_url_and_fresh_starts_it_again(tmp_path):
    mine = tmp_path / "mine.db"
    database = Database(f"sqlite:///{mine}")
    upgrade(database)
    lifecycle.open_escalation(
        Context(db=database), TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )
    database.dispose()
    process, lines = await sandbox_process(
        tmp_path, "sandbox", "--fresh", PORT=str(free_port()), DATABASE_URL="sqlite:///mine.db"
    )
    try:
        assert "Starting again: deleted mine.db." in "".join(lines)
        database = Database(f"sqlite:///{mine}")
        with database.transaction() as session:
            assert session.exec(select(Escalation)).all() == []  # the old case is gone; the schema is there
        database.dispose()
        assert not (tmp_path / "sandbox.db").exists()
    finally:
        process.terminate()
        await process.wait()


def test_fresh_never_erases_a_connected_bots_database_nor_a_server_one_and_a_bad_port_is_one_line(clean_env, capsys):
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://bot:secret@db.example/escalations")
    assert main(["sandbox", "--fresh"]) == 2
    assert "is not one" in capsys.readouterr().err
    clean_env.setenv("PORT", "eighty")
    assert main(["sandbox"]) == 2
    assert "PORT should be a number from 1 to 65535, such as PORT=8766 make run" in capsys.readouterr().err
    for name, value in SLACK_BY_HTTP.items():
        clean_env.setenv(name, value)
    assert main(["run", "--fresh"]) == 2
    assert "--fresh is for the sandbox only" in capsys.readouterr().err
