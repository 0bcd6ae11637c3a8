"""The container files: compose.yaml parses into PostgreSQL and two instances behind one port, and the
image's commands are the bot's own commands, as the README gives them. (No container engine runs here.)"""

import re
import shlex
from pathlib import Path

import yaml

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def bot_commands() -> set[str]:
    parser = build_parser()
    return set(next(a for a in parser._subparsers._group_actions).choices)


def test_compose_runs_postgresql_and_two_instances_behind_one_port():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["database"]["image"].startswith("postgres:")
    bots = {name: s for name, s in services.items() if s.get("build") == "."}
    assert len(bots) == 2
    assert len({s["environment"]["INSTANCE_ID"] for s in bots.values()}) == 2  # each its own claims
    for service in bots.values():
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["environment"]["DATABASE_URL"].endswith("@database:5432/escalations")
        assert service["depends_on"]["database"]["condition"] == "service_healthy"
        assert "ports" not in service  # reached only through the balancer
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published == ["3000:3000"]
    balancer = next(s for s in services.values() if s.get("ports"))
    config = next(v.split(":")[0] for v in balancer["volumes"] if v.endswith("default.conf:ro"))
    upstreams = re.findall(r"server (\S+):(\d+)", (ROOT / config).read_text())
    assert {host for host, _ in upstreams} == set(bots)
    assert {int(port) for _, port in upstreams} == {int(s["environment"]["PORT"]) for s in bots.values()}


def test_the_image_is_slim_python_as_a_non_root_user_running_the_bot():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert re.fullmatch(r"FROM python:3\.1\d-slim", instructions[0])
    user = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    entrypoint = next(line for line in instructions if line.startswith("ENTRYPOINT "))
    command = next(line for line in instructions if line.startswith("CMD "))
    assert yaml.safe_load(entrypoint.split(" ", 1)[1]) == ["escalation-bot"]
    assert yaml.safe_load(command.split(" ", 1)[1]) == ["run"]
    assert "run" in bot_commands()
    # What the image installs is what the package is made of.
    copied = {line.split()[1] for line in instructions if line.startswith("COPY ")}
    assert {"bot", "flows", "storage", "pyproject.toml"} <= copied


def test_the_readmes_container_commands_are_the_bots_commands():
    readme = (ROOT / "README.md").read_text()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    runs = [shlex.split(line.split("#")[0]) for line in readme.splitlines() if line.startswith("docker compose run")]
    assert runs
    for words in runs:
        service, command = words[words.index("--rm") + 1], words[words.index("--rm") + 2]
        assert service in compose["services"] and command in bot_commands(), words
        assert build_parser().parse_args(words[words.index("--rm") + 2 :]).command == command
