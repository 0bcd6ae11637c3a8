"""The Slack side of the conversation: sends the bot signed commands, clicks, submissions and events,
as Slack does, and applies Slack's answers to the stand-in's state. Used by the sandbox and the tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from bot.standin.server import SlackStandin


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature: HMAC-SHA256 over 'v0:{timestamp}:{body}'."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    body: dict


class SlackSide:
    """What Slack itself does towards the bot."""

    def __init__(self, bot_url: str, standin: SlackStandin, secret: str):
        self.bot_url, self.standin, self.secret = bot_url, standin, secret
        self.session = aiohttp.ClientSession()

    async def close(self):
        await self.session.close()

    async def post(
        self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None
    ) -> Reply:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or slack_signature(self.secret, ts, body),
        }
        async with self.session.post(self.bot_url, data=body.encode(), headers=headers) as response:
            text = await response.text()
            try:
                return Reply(response.status, json.loads(text) if text else {})
            except json.JSONDecodeError:
                # Bolt answers a plain-text ack with the text alone; Slack shows it as the message text.
                return Reply(response.status, {"text": text})

    async def send_command(self, fields: dict) -> Reply:
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded")

    async def send_interaction(self, payload: dict) -> Reply:
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def send_event(self, body: dict) -> Reply:
        return await self.post(json.dumps(body), "application/json")

    # ------------------------------------------------------------ what Slack sends, as Slack shapes it

    def command_fields(self, user_id: str, text: str, channel: str = "C0GENERAL") -> dict:
        return {
            "token": "unused",
            "team_id": self.standin.team_id,
            "team_domain": "standin",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": self.standin.users[user_id].name,
            "command": "/escalate",
            "text": text,
            "api_app_id": "A0STANDIN",
            "response_url": "https://hooks.slack.invalid/commands/1",
            "trigger_id": self.standin.new_trigger_id(user_id),
        }

    def button_payload(self, user_id: str, action_id: str, value: str, channel: str | None = None) -> dict:
        payload = self._block_actions(
            user_id,
            {"type": "button", "action_id": action_id, "block_id": "case_actions", "value": value},
            {"type": "message", "channel_id": channel or "D" + user_id},
        )
        if channel:
            payload["channel"] = {"id": channel}
        return payload

    def submission_payload(self, user_id: str, view: dict, values: dict) -> dict:
        return {
            "type": "view_submission",
            "team": {"id": self.standin.team_id},
            "user": {"id": user_id, "name": self.standin.users[user_id].name, "team_id": self.standin.team_id},
            "api_app_id": "A0STANDIN",
            "trigger_id": self.standin.new_trigger_id(user_id),
            "view": dict(view, state={"values": values}),
        }

    def home_event(self, user_id: str) -> dict:
        return {
            "token": "unused",
            "team_id": self.standin.team_id,
            "api_app_id": "A0STANDIN",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": "D" + user_id,
                "tab": "home",
                "event_ts": str(time.time()),
            },
        }

    # ------------------------------------------------------------ what a person does

    async def _then_modal(self, send) -> Reply:
        """Send, then wait for the modal the bot opens after answering (Bolt acks first, then runs on)."""
        opened = len(self.standin.ok_calls("views.open"))
        reply = await send
        if reply.status != 200:
            return reply
        await self.standin.wait_for(lambda: len(self.standin.ok_calls("views.open")) > opened)
        return reply

    async def command(self, user_id: str, text: str = "", channel: str = "C0GENERAL") -> Reply:
        if not text:
            return await self._then_modal(self._command(user_id, text, channel))
        return await self._command(user_id, text, channel)

    async def _command(self, user_id: str, text: str, channel: str) -> Reply:
        return await self.send_command(self.command_fields(user_id, text, channel))

    async def click(self, user_id: str, blocks: list[dict], action_id: str, channel: str | None = None) -> Reply:
        """Press a button; every button of the bot opens a modal."""
        return await self._then_modal(self._click(user_id, blocks, action_id, channel))

    async def _click(self, user_id: str, blocks: list[dict], action_id: str, channel: str | None) -> Reply:
        element = next(
            e for b in blocks if b.get("type") == "actions" for e in b["elements"] if e["action_id"] == action_id
        )
        return await self.press_button(user_id, action_id, element.get("value", ""), channel)

    def _block_actions(self, user_id: str, action: dict, container: dict) -> dict:
        """A block_actions payload as Slack sends it, for one action by `user_id`."""
        return {
            "type": "block_actions",
            "team": {"id": self.standin.team_id},
            "user": {"id": user_id, "name": self.standin.users[user_id].name, "team_id": self.standin.team_id},
            "api_app_id": "A0STANDIN",
            "trigger_id": self.standin.new_trigger_id(user_id),
            "actions": [{**action, "action_ts": str(time.time())}],
            "container": container,
        }

    async def press_button(self, user_id: str, action_id: str, value: str, channel: str | None = None) -> Reply:
        return await self.send_interaction(self.button_payload(user_id, action_id, value, channel))

    async def choose(self, user_id: str, view: dict, action_id: str, value: str) -> Reply:
        """Pick `value` in a select menu of a published view (App Home), as Slack sends it."""
        element = next(
            e
            for b in view["blocks"]
            if b.get("type") == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        )
        option = next(o for o in element["options"] if o["value"] == value)
        payload = self._block_actions(
            user_id,
            {"type": "static_select", "action_id": action_id, "block_id": "home_filters", "selected_option": option},
            {"type": "view", "view_id": "home"},
        )
        payload["view"] = {
            "type": "home",
            "private_metadata": view.get("private_metadata", ""),
            "blocks": view["blocks"],
        }
        return await self.send_interaction(payload)

    async def submit(self, user_id: str, answers: dict) -> Reply:
        """Fill in the modal the person has open with `answers` (by block id) and submit it."""
        view = self.standin.open_view(user_id)
        if view is None:
            raise ValueError("no modal is open")
        return await self.submit_values(user_id, fill(view, answers))

    async def submit_values(self, user_id: str, values: dict) -> Reply:
        """Submit the open modal with Slack's state.values, as the person's browser would."""
        view = self.standin.open_view(user_id)
        if view is None:
            return Reply(409, {"text": "no modal is open"})
        reply = await self.send_interaction(self.submission_payload(user_id, view, values))
        body = reply.body if isinstance(reply.body, dict) else {}
        # Do what Slack does with the answer: replace the modal, show errors, or close it.
        if reply.status == 200 and body.get("response_action") == "update":
            self.standin.views[view["id"]] = dict(body["view"], id=view["id"], state={"values": {}})
        elif reply.status == 200 and body.get("response_action") == "push":
            self.standin.show_modal(user_id, body["view"], push=True)
        elif reply.status == 200 and body.get("response_action") != "errors":
            self.standin.close_views(user_id)
        return reply

    async def open_home(self, user_id: str) -> dict:
        """Open the App Home tab; returns the view the bot published (events are answered first, then run)."""
        published = len(self.standin.ok_calls("views.publish"))
        reply = await self.send_event(self.home_event(user_id))
        if reply.status != 200:
            raise RuntimeError(f"the bot answered {reply.status} to app_home_opened")
        await self.standin.wait_for(lambda: len(self.standin.ok_calls("views.publish")) > published)
        return self.standin.home[user_id]


def fill(view: dict, answers: dict) -> dict:
    """Slack's state.values for `answers`, shaped by each input block's element type."""
    values = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        block_id = block["block_id"]
        element = block["element"]
        kind, action_id = element["type"], element["action_id"]
        answer = answers.get(block_id)
        if kind == "plain_text_input" or kind == "email_text_input":
            state = {"type": kind, "value": answer}
        elif kind in ("static_select", "radio_buttons"):
            option = None
            if answer is not None:
                match = [o for o in element["options"] if o["value"] == answer]
                if not match:
                    raise ValueError(f"{answer!r} is not an option of {block_id}")
                option = match[0]
            state = {"type": kind, "selected_option": option}
        elif kind in ("multi_static_select", "checkboxes"):
            options = [o for o in element["options"] if o["value"] in (answer or [])]
            if len(options) != len(answer or []):
                raise ValueError(f"unknown options for {block_id}")
            state = {"type": kind, "selected_options": options}
        elif kind == "multi_users_select":
            state = {"type": kind, "selected_users": list(answer or [])}
        elif kind == "users_select":
            state = {"type": kind, "selected_user": answer}
        elif kind == "datepicker":
            state = {"type": kind, "selected_date": answer}
        else:
            raise ValueError(f"cannot fill a {kind}")
        values[block_id] = {action_id: state}
    return values
