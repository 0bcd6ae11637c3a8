"""The Teams app package an administrator uploads (Teams admin centre → Manage apps → Upload): manifest.json
(schema 1.25) and the two icons, in one zip.

What the manifest asks for is what the bot uses: a bot in personal chats and in teams (the CSCP channel), the
message extension's action command "Raise an escalation" from the compose box (it opens a dialog: fetchTask),
and no validDomains (the bot's messaging endpoint is set on the Azure Bot, not here; its cards open no pages).
No webApplicationInfo: the bot signs nobody in and asks for no resource-specific permissions. Installing the
app for everyone (so that proactive messages reach people) is the administrator's, through a setup policy or
Graph (README, "Connect to Teams").
"""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image, ImageDraw

MANIFEST_VERSION = "1.25"
SCHEMA_URL = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.25/MicrosoftTeams.schema.json"
ACCENT = "#1F4E79"
RAISE_COMMAND = "raise"  # the compose extension's command id (composeExtension/fetchTask carries it)
STAGES = 5  # the icon's staircase: the policy's stages


def manifest(
    *, app_id: str, version: str, developer: str, website_url: str, privacy_url: str, terms_url: str, partnership: str
) -> dict:
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer,
            "websiteUrl": website_url,
            "privacyUrl": privacy_url,
            "termsOfUseUrl": terms_url,
        },
        "name": {"short": "Escalations", "full": f"{partnership} Escalation and Resolution"},
        "description": {
            "short": "Raise and resolve professional disagreements about a child, stage by stage.",
            "full": (
                f"The {partnership} Escalation and Resolution policy, in Teams. When you disagree with another "
                "agency's decision or action about a child, raise an escalation: the bot takes everyone through "
                "the policy's stages, each with its deadline in working days, keeps the record the policy asks "
                "for, and keeps the partnership team informed. It holds a child's initials and your agency's "
                "case reference only."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],
                "isNotificationOnly": False,
                "supportsFiles": True,
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": [
                            {"title": "escalate", "description": "Raise an escalation"},
                            {"title": "list", "description": "Your escalations"},
                        ],
                    }
                ],
            }
        ],
        "composeExtensions": [
            {
                "botId": app_id,
                "commands": [
                    {
                        "id": RAISE_COMMAND,
                        "type": "action",
                        "title": "Raise an escalation",
                        "description": "Raise a disagreement about a decision or action for a child",
                        "context": ["compose", "commandBox"],
                        "fetchTask": True,
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
        "defaultInstallScope": "personal",
    }


def _staircase(draw: ImageDraw.ImageDraw, size: int, margin: int, colour) -> None:
    """Five steps rising to the right: the policy's stages."""
    step = (size - 2 * margin) / STAGES
    for n in range(STAGES):
        left = margin + n * step
        top = size - margin - (n + 1) * step
        draw.rectangle([round(left), round(top), round(left + step) - 1, size - margin - 1], fill=colour)


def icon_color() -> bytes:
    """192×192, full colour: white steps on the accent colour."""
    image = Image.new("RGBA", (192, 192), ACCENT)
    _staircase(ImageDraw.Draw(image), 192, 36, (255, 255, 255, 255))
    return _png(image)


def icon_outline() -> bytes:
    """32×32, white on transparent, as Teams asks."""
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    _staircase(ImageDraw.Draw(image), 32, 4, (255, 255, 255, 255))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def build_package(**details) -> bytes:
    """The zip: manifest.json, color.png and outline.png at its root."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest(**details), indent=2))
        package.writestr("color.png", icon_color())
        package.writestr("outline.png", icon_outline())
    return out.getvalue()
