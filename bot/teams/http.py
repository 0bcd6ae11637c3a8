"""The Teams SDK mounted on our own aiohttp server: its HTTP adapter interface, served at POST /api/messages.

The SDK asks an adapter only to register a route (microsoft_teams/apps/http/adapter.py, HttpServerAdapter);
everything else, token validation first, stays the SDK's (apps/http/http_server.py, HttpServer.handle_request).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)
MESSAGING_ENDPOINT = "/api/messages"


class AiohttpAdapter:
    """The SDK's HttpServerAdapter on an aiohttp application that may also serve Slack."""

    def __init__(self, application: web.Application | None = None):
        self.application = application if application is not None else web.Application()

    def register_route(self, method, path, handler) -> None:
        async def route(request: web.Request) -> web.Response:
            try:
                body = json.loads(await request.read())
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                # Not an activity: refused before the SDK (which would answer 500 for a body it cannot read).
                return web.json_response({"error": "malformed request"}, status=400)
            # Header names in lower case: the SDK looks for "authorization" (then "Authorization").
            headers = {name.lower(): value for name, value in request.headers.items()}
            result = await handler({"body": body, "headers": headers})
            if result["status"] == 401:
                log.info("refused an activity without a valid Bot Framework token")
            content = result.get("body")
            if content is None:
                return web.Response(status=result["status"])
            return web.json_response(content, status=result["status"])

        self.application.router.add_route(method, path, route)

    def serve_static(self, path: str, directory: str) -> None:
        self.application.router.add_static(path, directory)

    async def start(self, port: int) -> None:
        raise NotImplementedError("escalation-bot serves the application on its own aiohttp server")

    async def stop(self) -> None:
        return None
