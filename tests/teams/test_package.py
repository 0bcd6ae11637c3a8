"""The Teams app package: valid against Microsoft's manifest schema 1.25, with the icons Teams asks for."""

import io
import json
import zipfile
from pathlib import Path

import jsonschema
from PIL import Image

from bot.cli import main
from tests.teams.conftest import APP_ID

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/vendor/teams-app-manifest.schema.1.25.json").read_text())


def build(tmp_path, monkeypatch) -> zipfile.ZipFile:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    out = tmp_path / "app.zip"
    assert main(["teams-package", "--out", str(out), "--website-url", "https://cscp.example/escalations"]) == 0
    return zipfile.ZipFile(out)


def test_the_package_validates_against_the_1_25_schema(tmp_path, monkeypatch):
    package = build(tmp_path, monkeypatch)
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(package.read("manifest.json"))
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert manifest["manifestVersion"] == "1.25"  # draft-04 validators do not read the schema's "const"
    # A manifest the schema refuses is refused: the test can fail.
    assert list(validator.iter_errors(dict(manifest, accentColor="blue")))


def test_the_manifest_asks_for_what_the_bot_uses(tmp_path, monkeypatch):
    manifest = json.loads(build(tmp_path, monkeypatch).read("manifest.json"))
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is True  # files in a personal chat, by the file consent card
    (extension,) = manifest["composeExtensions"]
    (command,) = extension["commands"]
    assert (command["type"], command["title"], command["fetchTask"]) == ("action", "Raise an escalation", True)
    assert "compose" in command["context"]
    assert manifest["validDomains"] == []
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_the_icons_are_the_sizes_teams_asks_for_and_the_outline_is_white_on_transparent(tmp_path, monkeypatch):
    package = build(tmp_path, monkeypatch)
    color = Image.open(io.BytesIO(package.read("color.png")))
    outline = Image.open(io.BytesIO(package.read("outline.png"))).convert("RGBA")
    assert color.size == (192, 192) and outline.size == (32, 32)
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert any(a == 0 for *_, a in pixels), "some of the outline is transparent"
    assert {(r, g, b) for r, g, b, a in pixels if a} == {(255, 255, 255)}, "what is drawn is white"


def test_the_package_needs_the_app_id(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    assert main(["teams-package", "--out", str(tmp_path / "x.zip"), "--website-url", "https://cscp.example/"]) == 2
    assert "TEAMS_APP_ID" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
