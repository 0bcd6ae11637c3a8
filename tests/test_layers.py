"""The shape the design asks for: flows/ knows nothing of Slack, and nothing starts at import."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: str) -> set[str]:
    names = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_flows_and_storage_never_import_slack_or_the_bot():
    for folder in ("flows", "storage"):
        assert not {"slack_bolt", "slack_sdk", "bot"} & imported_modules(folder), folder


def test_importing_everything_starts_nothing():
    code = ("import threading, bot.cli, bot.runtime, bot.scheduler, bot.sandbox.server, bot.slack.app, "
            "flows.escalations, flows.reminders, flows.digest, storage.migrate; "
            "print(threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    assert not (ROOT / "escalations.db").exists()


def test_the_outbox_and_the_email_front_end_never_import_slack():
    def imports_of(path: Path) -> set[str]:
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
        return found

    for path in [ROOT / "bot" / "outbox.py", *(ROOT / "bot" / "email").rglob("*.py")]:
        slack = {name for name in imports_of(path) if name.split(".")[0] in ("slack_bolt", "slack_sdk")
                 or name.startswith("bot.slack")}
        assert not slack, (path, slack)
