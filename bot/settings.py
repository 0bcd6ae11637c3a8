"""Settings from the environment or a .env file. Problems are collected and reported together."""

from __future__ import annotations

import re
import socket

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import DEFAULT_DATABASE_URL

# Microsoft's public cloud (the Teams SDK's defaults, microsoft_teams.api.auth.cloud_environment.PUBLIC).
TEAMS_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TEAMS_LOGIN_URL = "https://login.microsoftonline.com"
TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SettingsError(Exception):
    """One message naming every setting that is missing or malformed."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""  # when set, the bot connects by Socket Mode instead of serving HTTP
    slack_api_url: str = "https://slack.com/api/"
    # Space the outbox's Slack calls to Slack's published rate limits (bot/pacing.py); off only against a
    # stand-in that has none.
    slack_pacing: bool = True
    database_url: str = DEFAULT_DATABASE_URL
    cscp_channel_id: str = ""
    # The CSCP team: Slack user ids, comma-separated, and/or a user group whose members count.
    cscp_members: str = ""
    cscp_usergroup_id: str = ""
    # Who holds the Executive's stage (Slack user ids, comma-separated) and the Independent Scrutineer.
    cscp_executive: str = ""
    cscp_scrutineer: str = ""
    policy_file: str = ""
    # Kept as text so that a bad value is reported with the others rather than on its own.
    port: str = "3000"
    log_level: str = "INFO"
    # This running instance's name: the same across its restarts, different from any other instance
    # running at the same time (see bot/outbox.py). The host name unless set.
    instance_id: str = ""
    # E-mail to people named only by e-mail address: on when SMTP_HOST is set.
    smtp_host: str = ""
    smtp_port: str = "587"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = ""
    # Microsoft Teams: on when TEAMS_APP_ID is set (the bot's Microsoft App ID, its password and tenant).
    teams_app_id: str = ""
    teams_app_password: str = ""
    teams_tenant_id: str = ""
    # Where incoming tokens' signing keys are found, and where the bot gets its own token: Microsoft's, unless
    # a test or the sandbox points them at a stand-in.
    teams_openid_metadata_url: str = TEAMS_OPENID_METADATA_URL
    teams_login_url: str = TEAMS_LOGIN_URL
    # Where the bot opens a personal chat with someone it has not heard from in Teams (Microsoft's global
    # Bot Connector address); every other message goes to the service URL Teams gave with the person's chat.
    teams_service_url: str = TEAMS_SERVICE_URL
    # The CSCP team's channel in Teams (a conversation id, 19:…@thread.tacv2), if the partnership uses Teams.
    teams_cscp_conversation_id: str = ""
    # The CSCP team in Teams: Entra ID (AAD) object ids, comma-separated, plus the members of that channel's team.
    teams_cscp_members: str = ""

    @property
    def port_number(self) -> int:
        return int(self.port)

    @property
    def api_url(self) -> str:
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"

    @property
    def instance_name(self) -> str:
        return self.instance_id or socket.gethostname()

    @property
    def cscp_member_ids(self) -> list[str]:
        return [part.strip() for part in self.cscp_members.split(",") if part.strip()]

    @property
    def teams_cscp_member_ids(self) -> list[str]:
        return [part.strip() for part in self.teams_cscp_members.split(",") if part.strip()]

    @property
    def cscp_executive_ids(self) -> list[str]:
        return [part.strip() for part in self.cscp_executive.split(",") if part.strip()]

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token or self.slack_app_token or self.slack_signing_secret)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_app_id or self.teams_app_password or self.teams_tenant_id)

    def problems_for_teams(self) -> list[str]:
        """What stops the Teams bot from starting, one line a setting (nothing when no Teams setting is set)."""
        if not self.teams_enabled:
            return []
        problems = []
        if not GUID.match(self.teams_app_id):
            problems.append("TEAMS_APP_ID should be the bot's Microsoft App ID, a GUID (Azure Bot → Configuration)")
        if not self.teams_app_password:
            problems.append("TEAMS_APP_PASSWORD is not set (the client secret of the bot's app registration)")
        if not GUID.match(self.teams_tenant_id):
            problems.append("TEAMS_TENANT_ID should be your Microsoft 365 tenant's id, a GUID (Entra ID → Overview)")
        # The SDK finds the signing keys beside the metadata, at …/keys (token_validator.py, for_service).
        if not re.match(r"^https?://\S+/openidconfiguration$", self.teams_openid_metadata_url):
            problems.append("TEAMS_OPENID_METADATA_URL should be an address ending in /openidconfiguration")
        # MSAL accepts only an https authority.
        if not re.match(r"^https://[^/\s]+$", self.teams_login_url.rstrip("/")):
            problems.append("TEAMS_LOGIN_URL should be https://host[:port], with no path")
        if not re.match(r"^https?://\S+$", self.teams_service_url):
            problems.append("TEAMS_SERVICE_URL should start with https:// (or http:// for a local test server)")
        if self.teams_cscp_conversation_id and not self.teams_cscp_conversation_id.startswith("19:"):
            problems.append("TEAMS_CSCP_CONVERSATION_ID should be a channel's conversation id, starting 19:")
        if not self.port.isdigit() or not 1 <= int(self.port) <= 65535:
            problems.append("PORT should be a number from 1 to 65535")
        return problems

    def problems_for_email(self) -> list[str]:
        """What stops e-mail from working, one line a setting (nothing when SMTP_HOST is not set)."""
        if not self.email_enabled:
            return []
        problems = []
        if not self.smtp_port.isdigit() or not 1 <= int(self.smtp_port) <= 65535:
            problems.append("SMTP_PORT should be a number from 1 to 65535")
        if not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", self.mail_from.strip()):
            problems.append("MAIL_FROM should be the address e-mails come from, such as escalations@cscp.example")
        if bool(self.smtp_username) != bool(self.smtp_password):
            problems.append("SMTP_USERNAME and SMTP_PASSWORD go together: set both, or neither")
        return problems

    def problems_for_slack(self) -> list[str]:
        """What stops the Slack bot from starting, one line a setting."""
        problems = []
        if not self.slack_bot_token:
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…, from OAuth & Permissions)")
        elif not self.slack_bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN should start with xoxb- (a bot token)")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN should start with xapp- (an app-level token with connections:write)")
        if not self.slack_signing_secret and not self.slack_app_token:
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → App Credentials)")
        if not self.cscp_channel_id:
            problems.append("CSCP_CHANNEL_ID is not set (the id of the CSCP team's channel, C…)")
        elif not re.match(r"^[CG][A-Z0-9]{2,}$", self.cscp_channel_id):
            problems.append("CSCP_CHANNEL_ID should be a channel id such as C0123ABCD, not a name")
        bad_members = [m for m in self.cscp_member_ids if not re.match(r"^[UW][A-Z0-9]{2,}$", m)]
        if bad_members:
            problems.append("CSCP_MEMBERS should be Slack user ids such as U0123ABCD, separated by commas")
        bad_executive = [
            m
            for m in [*self.cscp_executive_ids, *filter(None, [self.cscp_scrutineer.strip()])]
            if not re.match(r"^[UW][A-Z0-9]{2,}$", m)
        ]
        if bad_executive:
            problems.append("CSCP_EXECUTIVE and CSCP_SCRUTINEER should be Slack user ids such as U0123ABCD")
        if self.cscp_usergroup_id and not re.match(r"^S[A-Z0-9]{2,}$", self.cscp_usergroup_id):
            problems.append("CSCP_USERGROUP_ID should be a user group id such as S0123ABCD")
        if not re.match(r"^https?://\S+$", self.slack_api_url):
            problems.append("SLACK_API_URL should start with https:// (or http:// for a local test server)")
        if not self.port.isdigit() or not 1 <= int(self.port) <= 65535:
            problems.append("PORT should be a number from 1 to 65535")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append("LOG_LEVEL should be one of DEBUG, INFO, WARNING, ERROR")
        return problems


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            name = str(item["loc"][0]).upper() if item["loc"] else "settings"
            lines.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
        raise SettingsError("\n".join(lines)) from None
