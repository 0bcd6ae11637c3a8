"""Reading Slack's failures, whatever shape the response took (a 5xx may have no JSON body)."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError

# Failures of the connection itself, after slack_sdk's own retries.
CONNECTION_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def error_code(error: SlackApiError) -> str:
    response = error.response
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(response, 'status_code', 0)}"


def status_code(error: SlackApiError) -> int:
    return int(getattr(error.response, "status_code", 0) or 0)
