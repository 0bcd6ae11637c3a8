"""The stand-in Slack Web API, an aiohttp application bound to 127.0.0.1."""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Which scope each Web API method the bot uses needs (from Slack's method reference).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "apps.connections.open": None,  # with the app-level token (connections:write), for Socket Mode
}
TRIGGER_LIFETIME_SECONDS = 3.0


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    ok: bool
    error: str = ""


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict]
    thread_ts: str | None = None
    user: str | None = None  # for ephemeral messages
    history: list[dict] = field(default_factory=list)  # earlier versions, after chat.update


@dataclass
class StandinUser:
    id: str
    name: str
    email: str
    title: str = ""


class BlockKitError(ValueError):
    pass


def validate_blocks(blocks: list[dict]) -> None:
    """Refuse blocks that slack_sdk's models reject (unknown types, Slack's length and count limits)."""
    if not isinstance(blocks, list):
        raise BlockKitError("blocks must be a list")
    if len(blocks) > 50:
        raise BlockKitError("a message can have at most 50 blocks")
    for raw in blocks:
        block = Block.parse(raw)
        if block is None or block.type != raw.get("type"):
            raise BlockKitError(f"unknown block type {raw.get('type')!r}")
        try:
            block.validate_json()
        except SlackObjectFormationError as exc:
            raise BlockKitError(str(exc)) from None


def validate_view(view: dict) -> None:
    try:
        model = View(**view)
        model.validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        raise BlockKitError(str(exc)) from None
    if view.get("type") == "modal" and len(view.get("blocks", [])) > 100:
        raise BlockKitError("a modal can have at most 100 blocks")
    validate_blocks(view.get("blocks", []))


class SlackStandin:
    """State and behaviour of the stand-in; `app()` serves it."""

    def __init__(self, scopes: set[str], users: list[StandinUser] | None = None,
                 bot_user_id: str = "UBOT", team_id: str = "T0STANDIN",
                 now: Callable[[], float] = time.monotonic):
        self.scopes = set(scopes)
        self.users = {u.id: u for u in users or []}
        self.usergroups: dict[str, list[str]] = {}
        self.bot_user_id, self.team_id = bot_user_id, team_id
        self.calls: list[Call] = []
        self.messages: list[Posted] = []
        self.views: dict[str, dict] = {}  # view_id -> view (modals)
        self.view_stacks: dict[str, list[str]] = {}  # user -> open modal view ids
        self.home: dict[str, dict] = {}  # user -> published home view
        self._triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> (user, issued at)
        self._now = now
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        # Failure injection: the share of calls answered with 429 or 500 (decided by a seeded RNG).
        self.failure_rate = 0.0
        self.random = random.Random(1234)
        self.failures_injected = 0
        # Targeted failure: method -> "ratelimited" (429), "server_error" (500) or a Slack error code, every call.
        self.fail_methods: dict[str, str] = {}
        self._called: asyncio.Event | None = None
        # Socket Mode: the bot's open connections, and the envelopes waiting for its acknowledgement.
        self.sockets: list[web.WebSocketResponse] = []
        self._awaiting: dict[str, asyncio.Future] = {}

    # -------------------------------------------------------------- helpers for tests and the sandbox

    def new_trigger_id(self, user_id: str) -> str:
        trigger = f"{next(self._ids)}.{int(self._now() * 1000)}.standin"
        self._triggers[trigger] = (user_id, self._now())
        return trigger

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds, re-checking after every call the bot makes."""
        async def until():
            while not condition():
                self._called = self._called or asyncio.Event()
                await self._called.wait()
                self._called.clear()
        await asyncio.wait_for(until(), timeout)

    def ok_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.ok]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id

    def messages_in(self, channel: str, thread_ts: str | None = None, top_level: bool = False) -> list[Posted]:
        found = [m for m in self.messages if m.channel == channel]
        if thread_ts is not None:
            found = [m for m in found if m.thread_ts == thread_ts]
        if top_level:
            found = [m for m in found if m.thread_ts is None]
        return found

    def open_view(self, user_id: str) -> dict | None:
        stack = self.view_stacks.get(user_id) or []
        return self.views[stack[-1]] if stack else None

    def close_views(self, user_id: str) -> None:
        self.view_stacks[user_id] = []

    def close_view(self, user_id: str) -> None:
        """The person closes the modal on top: the one beneath it, if any, shows again (as in Slack)."""
        self.view_stacks[user_id] = (self.view_stacks.get(user_id) or [])[:-1]

    # -------------------------------------------------------------- the Web API

    async def send_envelope(self, kind: str, payload: dict, timeout: float = 10.0) -> dict:
        """Deliver a request to the bot over Socket Mode, as Slack does; returns its acknowledgement."""
        if not self.sockets:
            raise RuntimeError("the bot has no Socket Mode connection")
        envelope_id = f"env-{next(self._ids)}"
        waiting = asyncio.get_running_loop().create_future()
        self._awaiting[envelope_id] = waiting
        await self.sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                          "accepts_response_payload": kind != "events_api",
                                          "retry_attempt": 0, "retry_reason": ""})
        return await asyncio.wait_for(waiting, timeout)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self.sockets),
                                "connection_info": {"app_id": "A0STANDIN"}})
        if self._called is not None:
            self._called.set()
        try:
            async for frame in socket:
                if frame.type != web.WSMsgType.TEXT:
                    continue
                answer = json.loads(frame.data)
                waiting = self._awaiting.pop(answer.get("envelope_id", ""), None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(answer.get("payload") or {})
        finally:
            self.sockets.remove(socket)
        return socket

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/link/", self._socket)
        application.router.add_route("*", "/api/{method}", self._handle)
        application.router.add_route("*", "/{method}", self._handle)
        return application

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        if self.failure_rate and method != "auth.test" and self.random.random() < self.failure_rate:
            self.failures_injected += 1
            error = "ratelimited" if self.random.random() < 0.5 else "server_error"
            return self._injected_failure(method, args, error, retry_after="0")
        if method in self.fail_methods:
            # Retry-After of a second: slack_sdk would retry past a trigger's 3-second life.
            return self._injected_failure(method, args, self.fail_methods[method], retry_after="1")
        token = self.app_token_expected if method == "apps.connections.open" else self.token_expected
        if request.headers.get("Authorization", "") != "Bearer " + token:
            return self._answer(method, args, {"ok": False, "error": "invalid_auth"})
        if method == "apps.connections.open":
            return self._answer(method, args, {"ok": True, "url": f"ws://{request.host}/link/?ticket=standin"})
        if method not in METHOD_SCOPES:
            return self._answer(method, args, {"ok": False, "error": "unknown_method"})
        scope = METHOD_SCOPES[method]
        if scope and scope not in self.scopes:
            return self._answer(method, args, {"ok": False, "error": "missing_scope", "needed": scope})
        handler = getattr(self, "_" + method.replace(".", "_"))
        try:
            body = handler(args)
        except BlockKitError as exc:
            body = {"ok": False, "error": "invalid_blocks", "detail": str(exc)}
        except _Fail as fail:
            body = {"ok": False, "error": fail.error}
        return self._answer(method, args, body)

    def _injected_failure(self, method: str, args: dict, error: str, retry_after: str) -> web.Response:
        self._record(method, args, False, error)
        if error == "ratelimited":
            return web.json_response({"ok": False, "error": error}, status=429, headers={"Retry-After": retry_after})
        if error == "server_error":
            return web.Response(status=500, text="internal error")
        return web.json_response({"ok": False, "error": error})

    token_expected = "xoxb-standin"
    app_token_expected = "xapp-standin"

    def _answer(self, method: str, args: dict, body: dict) -> web.Response:
        self._record(method, args, body.get("ok", False), body.get("error", ""))
        return web.json_response(body)

    def _record(self, method: str, args: dict, ok: bool, error: str) -> None:
        self.calls.append(Call(method, args, ok, error))
        if self._called is not None:
            self._called.set()

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _auth_test(self, args):
        return {"ok": True, "user_id": self.bot_user_id, "team_id": self.team_id, "bot_id": "B0STANDIN",
                "url": "https://standin.example/", "team": "Stand-in", "user": "escalation-bot"}

    def _resolve_channel(self, channel: str) -> str:
        # Posting to a user id opens the bot's direct message with that user, as Slack does.
        if channel.startswith(("U", "W")):
            if channel not in self.users:
                raise _Fail("channel_not_found")
            return self.dm_channel(channel)
        return channel

    def _message_args(self, args) -> tuple[str, list[dict]]:
        text, blocks = args.get("text", ""), args.get("blocks") or []
        if not text and not blocks:
            raise _Fail("no_text")
        if blocks:
            validate_blocks(blocks)
        return text, blocks

    def _chat_postMessage(self, args):
        channel = self._resolve_channel(args.get("channel", ""))
        text, blocks = self._message_args(args)
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m.channel == channel and m.ts == thread_ts for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        ts = f"{1700000000 + next(self._ts)}.000100"
        self.messages.append(Posted(channel, ts, text, blocks, thread_ts))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "blocks": blocks}}

    def _chat_getPermalink(self, args):
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        if not any(m.channel == channel and m.ts == ts for m in self.messages):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel,
                "permalink": f"https://standin.slack.example/archives/{channel}/p{ts.replace('.', '')}"}

    def _chat_postEphemeral(self, args):
        channel = self._resolve_channel(args.get("channel", ""))
        text, blocks = self._message_args(args)
        ts = f"{1700000000 + next(self._ts)}.000200"
        self.messages.append(Posted(channel, ts, text, blocks, user=args.get("user")))
        return {"ok": True, "message_ts": ts}

    def _chat_update(self, args):
        channel, ts = args.get("channel", ""), args.get("ts", "")
        for message in self.messages:
            if message.channel == channel and message.ts == ts:
                text, blocks = self._message_args(args)
                message.history.append({"text": message.text, "blocks": message.blocks})
                message.text, message.blocks = text, blocks
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _take_trigger(self, trigger_id: str) -> str:
        issued = self._triggers.pop(trigger_id, None)
        if issued is None:
            raise _Fail("invalid_trigger_id")
        user, at = issued
        if self._now() - at > TRIGGER_LIFETIME_SECONDS:
            raise _Fail("expired_trigger_id")
        return user

    def _store_view(self, view: dict, view_id: str | None = None) -> dict:
        validate_view(view)
        view_id = view_id or f"V{next(self._ids):06d}"
        stored = dict(view, id=view_id, state={"values": {}})
        self.views[view_id] = stored
        return stored

    def _views_open(self, args):
        return self._modal(args, push=False)

    def _views_push(self, args):
        return self._modal(args, push=True)

    def _modal(self, args, *, push: bool):
        user = self._take_trigger(args.get("trigger_id", ""))
        return {"ok": True, "view": self.show_modal(user, args["view"], push=push)}

    def show_modal(self, user: str, view: dict, *, push: bool) -> dict:
        """Open a modal (or push one over the open one), as Slack does on views.open or an answer."""
        stored = self._store_view(view)
        stack = self.view_stacks.setdefault(user, []) if push else []
        stack.append(stored["id"])
        self.view_stacks[user] = stack
        return stored

    def _views_update(self, args):
        view_id = args.get("view_id")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": self._store_view(args["view"], view_id)}

    def _views_publish(self, args):
        user = args.get("user_id", "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        view = args["view"]
        if view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        validate_view(view)
        self.home[user] = view
        return {"ok": True, "view": dict(view, id=f"VH{user}")}

    def _users_info(self, args):
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user.name, "display_name": user.name, "title": user.title}
        if "users:read.email" in self.scopes:
            profile["email"] = user.email
        return {"ok": True, "user": {"id": user.id, "name": user.name.lower().replace(" ", "."),
                                     "real_name": user.name, "profile": profile}}

    def _usergroups_users_list(self, args):
        group = args.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}


class _Fail(Exception):
    def __init__(self, error: str):
        self.error = error
