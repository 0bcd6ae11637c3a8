"""Builds the Bolt app and its Web API client. Only wires: the listeners do the work."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.slack import listeners
from bot.slack.failures import register_error_handler
from bot.slack.services import SlackServices

# The bot scopes the app asks for (app_manifest.yml lists the same; a test holds them together).
# The history scopes and im:write serve one purpose: after a crash, finding a message already posted
# before posting it again (bot/slack/recovery.py): im:write opens the direct message with a person to
# learn its id, im:history reads it, channels:history or groups:history read the CSCP channel (public or
# private: the manifest cannot know which). files:write uploads the paperwork (the notification form, the
# record for an agency's file, the themes report) to the CSCP channel's threads and to direct messages.
BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "users:read",
        "users:read.email",
        "usergroups:read",
        "im:write",
        "im:history",
        "channels:history",
        "groups:history",
        "files:write",
    }
)
RETRIES = 4
# Slack's own limit for any one call is well below this; a hung connection is cut and retried.
TIMEOUT_SECONDS = 15


def retry_handlers(interval: RetryIntervalCalculator | None = None) -> list[AsyncRetryHandler]:
    """429 (honouring Retry-After), 5xx and dropped connections are retried by slack_sdk itself."""
    interval = interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=RETRIES, interval_calculator=interval),
        AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES, interval_calculator=interval),
    ]


def build_client(token: str, api_url: str, interval: RetryIntervalCalculator | None = None) -> AsyncWebClient:
    return AsyncWebClient(
        token=token, base_url=api_url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers(interval)
    )


def build_app(client: AsyncWebClient, signing_secret: str, services: SlackServices) -> AsyncApp:
    logs.keep_request_data_out()  # before Bolt makes its loggers: it copies their level from ours
    app = AsyncApp(client=client, signing_secret=signing_secret, logger=logging.getLogger(logs.BOLT_LOGGER))
    register_error_handler(app)
    listeners.register(app, services)
    return app
