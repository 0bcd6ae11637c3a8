"""The stand-in Slack Web API, an aiohttp application bound to 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Reading a conversation needs the history scope of its kind (from Slack's method reference).
HISTORY_SCOPES = {"public": "channels:history", "private": "groups:history", "im": "im:history"}
# Which scope each Web API method the bot uses needs (from Slack's method reference); a dict when
# it depends on the kind of conversation.
METHOD_SCOPES: dict[str, str | dict[str, str] | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.history": HISTORY_SCOPES,
    "conversations.replies": HISTORY_SCOPES,
    "conversations.open": "im:write",  # for a direct message, the only kind the bot opens
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "apps.connections.open": None,  # with the app-level token (connections:write), for Socket Mode
    # Slack's external upload (what slack_sdk's files_upload_v2 calls): ask for an address, POST the bytes
    # there, then complete it, sharing the files to a conversation (or a thread of it) in one message.
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
TRIGGER_LIFETIME_SECONDS = 3.0
# Slack's guidelines for message metadata: event_type starts with a letter, then letters, digits, _.
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
HISTORY_MAX_LIMIT = 999


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
    metadata: dict | None = None  # message metadata, as the app posted it
    files: list[dict] = field(default_factory=list)  # files shared in the message (their ids, names, titles)


@dataclass
class StandinUser:
    id: str
    name: str
    email: str
    title: str = ""


class BlockKitError(ValueError):
    pass


def validate_metadata(metadata: Any) -> dict:
    """Slack's checks on message metadata: valid JSON, an event_type of its pattern, an object payload."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            raise _Fail("invalid_metadata_format") from None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not EVENT_TYPE.match(metadata["event_type"])
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise _Fail("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


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

    def __init__(
        self,
        scopes: set[str],
        users: list[StandinUser] | None = None,
        bot_user_id: str = "UBOT",
        team_id: str = "T0STANDIN",
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
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
        # Slack's message timestamps are its wall-clock time: a test whose bot runs on a manual clock
        # passes that clock here, so that the two agree as the bot's and Slack's clocks do.
        self._wall, self._last_ts = wall, 0  # in microseconds
        self._ids = itertools.count(1)
        # The channels the bot is in, by id: "public" or "private" (reading one needs the scope of its kind).
        self.channels: dict[str, str] = {}
        # Failure injection: the share of calls answered with 429 or 500 (decided by a seeded RNG).
        self.failure_rate = 0.0
        self.random = random.Random(1234)
        self.failures_injected = 0
        # Targeted failure: method -> "ratelimited" (429), "server_error" (500) or a Slack error code, every call.
        self.fail_methods: dict[str, str] = {}
        # Called once the stand-in has acted on a call, before it answers: a test makes the bot die there.
        self.after_acting: Callable[[str, dict, dict], Awaitable[None]] | None = None
        self._called: asyncio.Event | None = None
        # Socket Mode: the bot's open connections, and the envelopes waiting for its acknowledgement.
        self.sockets: list[web.WebSocketResponse] = []
        # External uploads: file id -> what getUploadURLExternal was told, and the bytes once POSTed.
        self.uploads: dict[str, dict[str, Any]] = {}
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

    def next_ts(self) -> str:
        """A message timestamp: the wall-clock time, made unique as Slack makes it."""
        self._last_ts = max(int(self._wall() * 1_000_000), self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

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

    def file_bytes(self, file_id: str) -> bytes:
        """What was uploaded for a shared file (Slack's url_private download, for tests)."""
        return self.uploads[file_id]["content"]

    def shared_files(self, channel: str, thread_ts: str | None = None) -> list[dict]:
        """Files shared in a conversation (or one thread of it), oldest first, with their message's text."""
        return [
            dict(f, text=m.text, ts=m.ts)
            for m in self.messages_in(channel, thread_ts)
            if m.user is None
            for f in m.files
        ]

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
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiting, timeout)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": len(self.sockets), "connection_info": {"app_id": "A0STANDIN"}}
        )
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
        application.router.add_post("/upload/v1/{file_id}", self._upload)
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
        if isinstance(scope, dict):
            scope = scope[self._conversation_kind(args.get("channel", ""))]
        if scope and scope not in self.scopes:
            return self._answer(method, args, {"ok": False, "error": "missing_scope", "needed": scope})
        handler = getattr(self, "_" + method.replace(".", "_"))
        self.base_url = f"http://{request.host}"  # where upload addresses point: this stand-in
        try:
            body = handler(args)
        except BlockKitError as exc:
            body = {"ok": False, "error": "invalid_blocks", "detail": str(exc)}
        except _Fail as fail:
            body = {"ok": False, "error": fail.error}
        if self.after_acting is not None:
            await self.after_acting(method, args, body)
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
        return args  # metadata stays as sent: a malformed one is refused as Slack refuses it

    def _auth_test(self, args):
        return {
            "ok": True,
            "user_id": self.bot_user_id,
            "team_id": self.team_id,
            "bot_id": "B0STANDIN",
            "url": "https://standin.example/",
            "team": "Stand-in",
            "user": "escalation-bot",
        }

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
        metadata = validate_metadata(args["metadata"]) if args.get("metadata") else None
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m.channel == channel and m.ts == thread_ts for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        posted = Posted(channel, self.next_ts(), text, blocks, thread_ts, metadata=metadata)
        self.messages.append(posted)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": self._as_slack_shows(posted, True)}

    def _chat_getPermalink(self, args):
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        if not any(m.channel == channel and m.ts == ts for m in self.messages):
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://standin.slack.example/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _chat_postEphemeral(self, args):
        channel = self._resolve_channel(args.get("channel", ""))
        text, blocks = self._message_args(args)
        ts = self.next_ts()
        self.messages.append(Posted(channel, ts, text, blocks, user=args.get("user")))
        return {"ok": True, "message_ts": ts}

    def _chat_update(self, args):
        channel, ts = args.get("channel", ""), args.get("ts", "")
        for message in self.messages:
            if message.channel == channel and message.ts == ts:
                text, blocks = self._message_args(args)
                # Without metadata the message keeps what it had; an empty object removes it.
                metadata = args.get("metadata")
                if metadata not in (None, "", {}, "{}"):
                    metadata = validate_metadata(metadata)
                message.history.append({"text": message.text, "blocks": message.blocks})
                message.text, message.blocks = text, blocks
                if metadata is not None:
                    message.metadata = metadata or None
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    # ---------------------------------------------------------- reading conversations

    def _conversation_kind(self, channel: str) -> str:
        if channel.startswith("D"):
            return "im"
        return "private" if channel.startswith("G") or self.channels.get(channel) == "private" else "public"

    def _conversation(self, channel: str) -> list[Posted]:
        """A conversation's messages (not ephemeral ones), oldest first; channel_not_found if unknown."""
        known = (
            (channel.startswith("D") and channel[1:] in self.users)
            or channel in self.channels
            or any(m.channel == channel for m in self.messages)
        )
        if not known:
            raise _Fail("channel_not_found")
        return [m for m in self.messages if m.channel == channel and m.user is None]

    def _as_slack_shows(self, message: Posted, with_metadata: bool, replies: int = 0) -> dict:
        shown = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B0STANDIN",
            "text": message.text,
            "blocks": message.blocks,
            "ts": message.ts,
        }
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        elif replies:
            shown.update(thread_ts=message.ts, reply_count=replies)
        if with_metadata and message.metadata:
            shown["metadata"] = message.metadata
        if message.files:
            shown.update(files=[dict(f) for f in message.files], upload=True)
        return shown

    @staticmethod
    def _page(args, found: list, newest_first: bool) -> dict:
        """Slack's paging: `limit` items (default 100 for history, 1000 for replies), then has_more and a cursor."""
        try:
            limit = min(int(args.get("limit") or (100 if newest_first else 1000)), HISTORY_MAX_LIMIT)
            start = int(args.get("cursor") or 0)
        except ValueError:
            raise _Fail("invalid_arguments") from None
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    @staticmethod
    def _in_window(args, ts: str) -> bool:
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        return (oldest <= float(ts) <= latest) if inclusive else (oldest < float(ts) < latest)

    @staticmethod
    def _flag(args, name: str) -> bool:
        return str(args.get(name, "")).lower() in ("1", "true")

    def _conversations_history(self, args):
        """Top-level messages (and thread parents), newest first; metadata only when asked for."""
        messages = self._conversation(args.get("channel", ""))
        with_metadata = self._flag(args, "include_all_metadata")
        found = [
            self._as_slack_shows(m, with_metadata, sum(1 for r in messages if r.thread_ts == m.ts))
            for m in reversed(messages)
            if m.thread_ts is None and self._in_window(args, m.ts)
        ]
        return {"ok": True, **self._page(args, found, newest_first=True)}

    def _conversations_replies(self, args):
        """A thread (named by its parent's ts or any reply's): the parent first, then the replies oldest first."""
        messages, ts = self._conversation(args.get("channel", "")), args.get("ts", "")
        named = next((m for m in messages if m.ts == ts), None)
        if named is None:
            raise _Fail("thread_not_found")
        parent = next(m for m in messages if m.ts == (named.thread_ts or named.ts))
        with_metadata = self._flag(args, "include_all_metadata")
        replies = [m for m in messages if m.thread_ts == parent.ts and m.ts != parent.ts]
        found = [self._as_slack_shows(parent, with_metadata, len(replies))] + [
            self._as_slack_shows(m, with_metadata) for m in replies if self._in_window(args, m.ts)
        ]
        return {"ok": True, **self._page(args, found, newest_first=False)}

    def _conversations_open(self, args):
        """The bot's direct message with one person (a group DM is not something the bot opens)."""
        users = args.get("users", "")
        users = users.split(",") if isinstance(users, str) else list(users)
        if len(users) != 1:
            raise _Fail("invalid_arguments")
        if users[0] not in self.users:
            raise _Fail("user_not_found")
        return {"ok": True, "channel": {"id": self.dm_channel(users[0])}}

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
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "name": user.name.lower().replace(" ", "."),
                "real_name": user.name,
                "profile": profile,
            },
        }

    # ---------------------------------------------------------- uploading files

    def _files_getUploadURLExternal(self, args):
        filename = args.get("filename") or ""
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            raise _Fail("invalid_arguments") from None
        if not filename or length <= 0:
            raise _Fail("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {"filename": filename, "length": length, "content": None, "shared": False}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/v1/{file_id}"}

    base_url = "http://127.0.0.1"  # where the stand-in was last reached (set on each call)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload address: the bytes, of the length announced, once; Slack answers 200 with plain text."""
        upload = self.uploads.get(request.match_info["file_id"])
        content = await request.read()
        self._record(
            "upload", {"file_id": request.match_info["file_id"], "bytes": len(content)}, upload is not None, ""
        )
        if upload is None or upload["content"] is not None:
            return web.Response(status=404, text="upload not found")
        if len(content) != upload["length"]:
            return web.Response(status=400, text="length does not match")
        upload["content"] = content
        return web.Response(status=200, text=f"OK - {len(content)}")

    def _files_completeUploadExternal(self, args):
        try:
            files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files")
        except (KeyError, json.JSONDecodeError):
            raise _Fail("invalid_arguments") from None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            raise _Fail("invalid_arguments")
        for f in files:
            upload = self.uploads.get(f.get("id", ""))
            if upload is None or upload["content"] is None or upload["shared"]:
                raise _Fail("file_not_found")
        channel, thread_ts = args.get("channel_id") or "", args.get("thread_ts") or None
        if args.get("channels"):
            raise _Fail("invalid_arguments")  # the bot shares to one conversation, by channel_id
        if not channel:
            raise _Fail("invalid_arguments")  # a private file, shared nowhere: not something the bot does
        if channel.startswith(("U", "W")):
            raise _Fail("channel_not_found")  # channel_id takes a conversation's id, not a person's
        conversation = self._conversation(channel)
        if thread_ts is not None:
            parent = next((m for m in conversation if m.ts == thread_ts), None)
            if parent is None:
                raise _Fail("thread_not_found")
            if parent.thread_ts is not None:
                raise _Fail("invalid_thread_ts")  # a reply's ts: Slack asks for its parent's
        shared = []
        for f in files:
            upload = self.uploads[f["id"]]
            upload["shared"] = True
            shared.append(
                {
                    "id": f["id"],
                    "name": upload["filename"],
                    "title": f.get("title") or upload["filename"],
                    "size": upload["length"],
                }
            )
        posted = Posted(channel, self.next_ts(), args.get("initial_comment") or "", [], thread_ts, files=shared)
        self.messages.append(posted)
        return {"ok": True, "files": [dict(f) for f in shared]}

    def _usergroups_users_list(self, args):
        group = args.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}


class _Fail(Exception):
    def __init__(self, error: str):
        self.error = error
