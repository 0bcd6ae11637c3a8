"""The web application Slack's requests arrive at (HTTP mode, the sandbox and the tests).

The signature is checked here, before Bolt reads the body: Bolt parses the body first (so a body
it cannot parse was a 500 even unsigned) and slack_sdk's check raises, rather than refuses, on a
timestamp that is not a number. The check is still slack_sdk's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.slack import payloads

log = logging.getLogger(__name__)
# Set in each request's Bolt context once the HTTP answer has been given (see failures.py).
ANSWERED = "answered"


def signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    try:
        return verifier.is_valid(body, timestamp, signature)
    except ValueError:  # a body that is not UTF-8; a timestamp too long for int()
        return False


def web_app(
    bolt_app: AsyncApp,
    signing_secret: str,
    path: str = "/slack/events",
    application: web.Application | None = None,
) -> web.Application:
    """Slack's route, on `application` if given (one server for Slack and Teams), else on a new one."""
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        if not signed_by_slack(verifier, body, request.headers):
            log.info("refused a request without Slack's valid signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)  # Bolt parses the body as it makes the request
        except Exception as error:
            bolt_request, malformed = None, f"Bolt could not read it ({error.__class__.__name__})"
        else:
            malformed = "" if payloads.well_formed(bolt_request.body) else "not as Slack sends it"
        if malformed:
            # Signed, yet not a body Slack sends: there is no one to answer politely, so the sender is
            # told plainly that it was malformed (400) and nothing was done.
            log.warning("refused a signed request: %s", malformed)
            return web.json_response({"error": "malformed request"}, status=400)
        payloads.clean(bolt_request.body)
        answered = bolt_request.context[ANSWERED] = asyncio.Event()
        try:
            return await to_aiohttp_response(await bolt_app.async_dispatch(bolt_request))
        finally:
            answered.set()

    application = application if application is not None else web.Application()
    application.router.add_post(path, slack_events)
    return application
