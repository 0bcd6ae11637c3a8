import json
from pathlib import Path

import jsonschema
import yaml

from bot.slack.app import BOT_SCOPES

ROOT = Path(__file__).resolve().parents[1]


def manifest():
    return yaml.safe_load((ROOT / "app_manifest.yml").read_text())


def test_the_manifest_is_valid_against_slacks_schema():
    schema = json.loads((ROOT / "tests/vendor/slack-app-manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(manifest(), schema)


def test_the_manifest_declares_what_the_bot_uses_and_no_more():
    m = manifest()
    assert [c["command"] for c in m["features"]["slash_commands"]] == ["/escalate"]
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True
    assert set(m["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
