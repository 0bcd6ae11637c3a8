"""Builds the Teams SDK's App: Microsoft's or a stand-in's addresses, the bot's own token, retries. Only wires.

Incoming activities are authenticated by the SDK (microsoft_teams/apps/auth/token_validator.py): the Bot
Framework JWT's signature against the keys beside TEAMS_OPENID_METADATA_URL, its issuer, its audience (the
app id) and its serviceurl claim against the activity's serviceUrl. Both addresses reach the SDK through its
cloud-environment overrides (microsoft_teams.api.auth.cloud_environment.with_overrides).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable

import httpx
from microsoft_teams.api import TokenCredentials
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment, with_overrides
from microsoft_teams.apps import App
from microsoft_teams.common import Client, ClientOptions
from msal import ConfidentialClientApplication

from bot import logs
from bot.settings import SettingsError
from bot.teams.http import MESSAGING_ENDPOINT, AiohttpAdapter

RETRIES = 4
# Well inside the outbox's send deadline (bot/outbox.py SEND_DEADLINE), retries included.
TIMEOUT_SECONDS = 10
LONGEST_WAIT = 8.0
# MSAL renews a token five minutes before it ends; the bot goes back to MSAL a little before that.
REFRESH_MARGIN = 6 * 60


class TokenError(Exception):
    """The login service would not give the bot its token (a wrong app id, password or tenant)."""


class BotToken:
    """The bot's own token for the Bot Connector, by MSAL's client-credentials flow at TEAMS_LOGIN_URL, cached
    by MSAL until it is near its end.

    The SDK's ClientCredentials path would do the same, except that it builds MSAL with instance discovery on
    (microsoft_teams/apps/token_manager.py, TokenManager._get_confidential_client), and MSAL then asks
    login.microsoftonline.com about any login host it does not know: a stand-in (or a proxy) could not be
    used without reaching Microsoft. So the SDK is given this as its token provider (AppOptions.token)."""

    def __init__(self, app_id: str, password: str, login_url: str):
        self.app_id, self.password, self.login_url = app_id, password, login_url.rstrip("/")
        self._clients: dict[str, ConfidentialClientApplication] = {}
        self._held: dict[tuple[str, str], tuple[str, float]] = {}

    def _acquire(self, scope: str, tenant_id: str) -> dict:
        client = self._clients.get(tenant_id)
        if client is None:
            client = self._clients[tenant_id] = ConfidentialClientApplication(
                self.app_id,
                client_credential=self.password,
                authority=f"{self.login_url}/{tenant_id}",
                instance_discovery=False,
            )
        return client.acquire_token_for_client([scope])

    async def __call__(self, scope: str, tenant_id: str) -> str:
        # Every call the bot makes asks for the token: while it has well over its refresh margin left, it is
        # handed over here rather than from MSAL's cache on a worker thread (which busy moments queue for).
        held = self._held.get((scope, tenant_id))
        if held and held[1] - time.monotonic() > REFRESH_MARGIN:
            return held[0]
        result = await asyncio.to_thread(self._acquire, scope, tenant_id)
        if "access_token" not in result:
            raise TokenError(result.get("error", "no token"))
        self._held[(scope, tenant_id)] = (result["access_token"], time.monotonic() + float(result.get("expires_in", 0)))
        return result["access_token"]


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value) if value else None
    return max(when.timestamp() - time.time(), 0.0) if when else None


class RetryThrottled:
    """Middleware for the SDK's HTTP client: a 429 (after its Retry-After) or a 5xx from the Bot Connector, or a
    connection that could not be made, is tried again a few times before the caller sees the failure. A call
    that may have reached Teams (a read timeout, a dropped answer) is not: the outbox decides about those."""

    def __init__(self, retries: int = RETRIES, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.retries, self.sleep = retries, sleep

    async def send(self, context, next):
        for attempt in range(self.retries + 1):
            try:
                return await next()
            except httpx.HTTPStatusError as error:
                status = error.response.status_code
                if attempt == self.retries or not (status == 429 or status >= 500):
                    raise
                wait = retry_after(error.response)
            except httpx.ConnectError:
                if attempt == self.retries:
                    raise
                wait = None
            await self.sleep(min(wait if wait is not None else 0.5 * 2**attempt, LONGEST_WAIT))
        raise AssertionError("unreachable")


def cloud(openid_metadata_url: str, login_url: str) -> CloudEnvironment:
    return with_overrides(PUBLIC, openid_metadata_url=openid_metadata_url, login_endpoint=login_url.rstrip("/"))


def build_app(
    *,
    app_id: str,
    password: str,
    tenant_id: str,
    openid_metadata_url: str,
    login_url: str,
    service_url: str,
    adapter: AiohttpAdapter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> App:
    client = Client(ClientOptions(timeout=TIMEOUT_SECONDS))
    client.use(RetryThrottled(sleep=sleep))
    app = App(
        client_id=app_id,
        tenant_id=tenant_id,
        token=BotToken(app_id, password, login_url),
        cloud=cloud(openid_metadata_url, login_url),
        service_url=service_url,
        http_server_adapter=adapter,
        messaging_endpoint=MESSAGING_ENDPOINT,
        client=client,
        # Never from the environment: every request is authenticated.
        dangerously_allow_unauthenticated_requests=False,
        state=False,
        telemetry={"agent365": False},
    )
    if not isinstance(app.credentials, TokenCredentials):
        # The SDK prefers CLIENT_SECRET from the environment (or a .env it loads when imported) to our token.
        raise SettingsError(
            "CLIENT_SECRET is set in the environment or .env: unset it (the bot uses TEAMS_APP_PASSWORD)"
        )
    logs.keep_request_data_out()  # the SDK's loggers exist now
    return app
