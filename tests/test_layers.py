"""The shape the design asks for: flows/ knows nothing of Slack, and nothing starts at import."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: str, depth: int = 1) -> set[str]:
    """Modules imported anywhere under `folder` (a package or one file), to `depth` dotted parts."""
    names = set()
    target = ROOT / folder
    for path in [target] if target.is_file() else target.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {".".join(alias.name.split(".")[:depth]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(".".join(node.module.split(".")[:depth]))
    return names


# The front-ends: one package each. None imports another, and each reaches storage only through flows/.
FRONT_ENDS = [
    p.name
    for p in (ROOT / "bot").iterdir()
    if p.is_dir() and p.name not in ("sandbox", "standin", "__pycache__") and (p / "__init__.py").exists()
]


def test_front_ends_reach_storage_only_through_flows_and_never_import_each_other():
    assert {"slack", "teams", "email"} <= set(FRONT_ENDS)
    for front_end in FRONT_ENDS:
        imported = imported_modules(f"bot/{front_end}", depth=2)
        assert "storage" not in {name.split(".")[0] for name in imported}, front_end
        others = {f"bot.{other}" for other in FRONT_ENDS if other != front_end}
        assert not imported & others, (front_end, imported & others)


def test_the_outbox_knows_no_platform():
    imported = imported_modules("bot/outbox.py", depth=2)
    assert not {f"bot.{front_end}" for front_end in FRONT_ENDS} & imported
    assert not {"slack_sdk", "slack_bolt", "microsoft_teams", "aiosmtplib"} & {name.split(".")[0] for name in imported}


def test_flows_and_storage_never_import_slack_or_the_bot():
    for folder in ("flows", "storage"):
        platforms = {"slack_bolt", "slack_sdk", "microsoft_teams", "aiosmtplib", "aiosmtpd", "bot"}
        assert not platforms & imported_modules(folder), folder


def test_importing_everything_starts_nothing():
    code = (
        "import threading, bot.cli, bot.runtime, bot.scheduler, bot.sandbox.server, bot.slack.app, "
        "flows.escalations, flows.reminders, flows.digest, storage.migrate; "
        "print(threading.active_count())"
    )
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
        slack = {
            name
            for name in imports_of(path)
            if name.split(".")[0] in ("slack_bolt", "slack_sdk") or name.startswith("bot.slack")
        }
        assert not slack, (path, slack)
