"""The sandbox: the real bot (Bolt app, Teams SDK app, engine, scheduler, SQLite file) against a stand-in Slack
and a stand-in Microsoft Teams.

Everything goes the way it goes on each platform: the page's actions in the Slack view become requests to the
bot signed as Slack signs them, and the bot answers through the Slack stand-in's Web API; in the Teams view they
become activities with a Bot Framework token (an Action.Execute click is an adaptiveCard/action invoke, a dialog
a task/fetch and task/submit), and the bot answers through the Teams stand-in's Bot Connector, with its own token
from the stand-in's HTTPS login service. The clock is the bot's own injected clock, moved on from the page.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources

from aiohttp import web

from bot.email.inbox import Inbox
from bot.runtime import Bot, build_bot, listening_socket
from bot.sandbox.workspace import (
    CSCP_CHANNEL,
    CSCP_CHANNEL_NAME,
    CSCP_EXECUTIVE,
    CSCP_MEMBERS,
    EMAIL_ONLY,
    PEOPLE,
    TEAMS_APP_ID,
    TEAMS_PEOPLE,
    TEAMS_TENANT_ID,
    TEAMS_TITLES,
)
from bot.scheduler import DueWork, start_scheduler
from bot.settings import Settings
from bot.slack.app import BOT_SCOPES
from bot.slack.http import web_app
from bot.standin.client import SlackSide
from bot.standin.server import SlackStandin
from bot.standin.teams import TeamsStandin
from bot.standin.teams_client import TeamsSide
from flows.clock import ManualClock
from flows.policy import Policy

log = logging.getLogger(__name__)
# MSAL (the bot's login to Teams) reads the certificates it trusts from here: the Teams stand-in's own.
CA_BUNDLE = "REQUESTS_CA_BUNDLE"


async def _serve(application: web.Application, port: int = 0, sock: socket.socket | None = None):
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@dataclass
class Sandbox:
    bot: Bot
    standin: SlackStandin
    slack: SlackSide
    clock: ManualClock
    url: str
    _runners: list
    _tasks: list
    _scheduler: object
    # What the bot answered each person's last command with (Slack shows it only to them).
    answers: dict
    # The mail server the bot e-mails people outside Slack and Teams through, and what arrived there.
    inbox: Inbox
    teams_standin: TeamsStandin | None = None
    teams: TeamsSide | None = None
    _ca_bundle: str | None = None
    # What each Teams person's last message to the bot was answered with, shown in their chat.
    teams_answers: dict = field(default_factory=dict)

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await self.slack.close()
        if self.teams is not None:
            await self.teams.close()
        for runner in self._runners:
            await runner.cleanup()
        await self.inbox.stop()
        self.bot.ctx.db.dispose()
        if self.teams_standin is not None:
            self.teams_standin.stop()
            if self._ca_bundle is None:
                os.environ.pop(CA_BUNDLE, None)
            else:
                os.environ[CA_BUNDLE] = self._ca_bundle

    async def catch_up(self) -> None:
        """After the clock moves: what is due now, delivered."""
        await DueWork(self.bot.ctx, self.bot.outbox).run_once()
        await self.bot.outbox.drain()

    def teams_user(self, aad_object_id: str):
        return self.teams_standin.users.get(aad_object_id) if self.teams_standin else None


async def start_sandbox(policy: Policy, database_url: str, port: int = 8765, start: datetime | None = None) -> Sandbox:
    page_socket = listening_socket(
        port, "127.0.0.1"
    )  # before anything else: a busy port stops it here, having done nothing
    clock = ManualClock(start or datetime.now(UTC))
    standin = SlackStandin(scopes=set(BOT_SCOPES), users=PEOPLE, wall=lambda: clock.now().timestamp())
    standin.channels[CSCP_CHANNEL] = "private"
    standin_runner, standin_port = await _serve(standin.app())
    secret = secrets.token_hex(16)
    app_password = secrets.token_urlsafe(24)
    teams_standin = TeamsStandin(TEAMS_APP_ID, app_password, TEAMS_TENANT_ID, TEAMS_PEOPLE).start()
    ca_bundle = os.environ.get(CA_BUNDLE)
    os.environ[CA_BUNDLE] = teams_standin.ca_file
    inbox = Inbox()
    smtp_port = await inbox.start()
    settings = Settings(
        _env_file=None,
        slack_bot_token=standin.token_expected,
        slack_signing_secret=secret,
        slack_api_url=f"http://127.0.0.1:{standin_port}/api/",
        database_url=database_url,
        cscp_channel_id=CSCP_CHANNEL,
        cscp_members=",".join(CSCP_MEMBERS),
        cscp_executive=",".join(CSCP_EXECUTIVE),
        teams_app_id=TEAMS_APP_ID,
        teams_app_password=app_password,
        teams_tenant_id=TEAMS_TENANT_ID,
        teams_openid_metadata_url=teams_standin.openid_metadata_url,
        teams_login_url=teams_standin.login_url,
        teams_service_url=teams_standin.service_url,
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_port),
        smtp_starttls=False,
        mail_from="escalations@cscp.example",
        # The stand-in Slack has no rate limits: the page shows each message as soon as the bot sends it.
        slack_pacing=False,
    )
    bot = build_bot(settings, policy, clock)
    await bot.slack.directory.refresh_partnership()
    web_app(bot.slack.app, secret, application=bot.web)  # one server for both, as `run` serves them
    await bot.teams.mount()
    bot_runner, bot_port = await _serve(bot.web)
    slack = SlackSide(f"http://127.0.0.1:{bot_port}/slack/events", standin, secret)
    teams = TeamsSide(f"http://127.0.0.1:{bot_port}/api/messages", teams_standin)
    for user in TEAMS_PEOPLE:
        # The app is installed for MASH's people (by their administrator): Teams tells the bot, which learns
        # where to reach each of them and their work e-mail, and welcomes them.
        await teams.install(user)
    worker = asyncio.create_task(bot.outbox.run_forever(), name="outbox")
    scheduler = start_scheduler(DueWork(bot.ctx, bot.outbox))
    sandbox = Sandbox(
        bot,
        standin,
        slack,
        clock,
        "",
        [bot_runner, standin_runner],
        [worker],
        scheduler,
        {},
        inbox,
        teams_standin=teams_standin,
        teams=teams,
        _ca_bundle=ca_bundle,
    )
    page_runner, page_port = await _serve(page_app(sandbox), sock=page_socket)
    sandbox._runners.insert(0, page_runner)
    sandbox.url = f"http://127.0.0.1:{page_port}/"
    return sandbox


# ---------------------------------------------------------------------------------------- the page


def page_app(sandbox: Sandbox) -> web.Application:
    routes = web.RouteTableDef()
    standin = sandbox.standin

    def person(request_data: dict) -> str:
        user = request_data.get("user", "")
        if user not in standin.users:
            raise web.HTTPBadRequest(text="choose who you are")
        return user

    @routes.get("/")
    async def page(_request):
        html = resources.files("bot.sandbox").joinpath("page.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    @routes.get("/adaptivecards.min.js")
    async def renderer(_request):
        # Microsoft's Adaptive Cards renderer for the browser (npm's adaptivecards, MIT; LICENSE-adaptivecards).
        script = resources.files("bot.sandbox").joinpath("adaptivecards.min.js").read_bytes()
        return web.Response(body=script, content_type="application/javascript")

    def teams_person(request_data: dict):
        user = sandbox.teams_user(request_data.get("user", ""))
        if user is None:
            raise web.HTTPBadRequest(text="choose who you are")
        return user

    def teams_state(user) -> dict:
        """What Teams shows the person: their chat with the bot, each message with its cards as they stand."""
        chat = [
            {"id": a.id, "version": len(a.history), "text": a.text, "cards": a.cards}
            for a in sandbox.teams_standin.sent_to_user(user)
        ]
        return {"teams_chat": chat, "teams_answer": sandbox.teams_answers.get(user.aad_object_id)}

    def slack_message(m) -> dict:
        """A Slack message as the page draws it: its words, its blocks, and the files shared with it."""
        files = [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in m.files]
        return {"ts": m.ts, "text": m.text, "blocks": m.blocks, "files": files}

    @routes.get("/api/files/{file_id}")
    async def shared_file(request):
        """A file the bot shared, as Slack lets someone download it: only from a conversation they are in."""
        user, file_id = request.query.get("user", ""), request.match_info["file_id"]
        where = [standin.dm_channel(user)] if user in standin.users else []
        where += [CSCP_CHANNEL] if user in CSCP_MEMBERS else []
        for channel in where:
            for shared in standin.shared_files(channel):  # threads included
                if shared["id"] == file_id:
                    disposition = f'attachment; filename="{shared["name"]}"'
                    return web.Response(body=standin.file_bytes(file_id), headers={"Content-Disposition": disposition})
        raise web.HTTPNotFound(text="There is no such file that you can see.")

    @routes.get("/api/state")
    async def state(request):
        user = request.query.get("user", "")
        calendar = sandbox.bot.ctx.policy.working_calendar
        now = calendar.local(sandbox.clock.now())
        data = {
            "now": f"{now:%A} {now.day} {now:%B %Y}, {now:%H:%M}",
            "working_time": calendar.is_working_time(sandbox.clock.now()),
            "people": [{"id": u.id, "name": u.name, "title": u.title} for u in standin.users.values()],
            "teams_people": [
                {"id": u.aad_object_id, "name": u.name, "title": TEAMS_TITLES.get(u.name, ""), "email": u.email}
                for u in sandbox.teams_standin.users.values()
            ],
            "channel_name": CSCP_CHANNEL_NAME,
            "email_people": [{"name": name, "email": email, "title": title} for name, email, title in EMAIL_ONLY],
            "inbox": [
                {"to": ", ".join(m.recipients), "subject": m.mail["Subject"], "text": m.plain}
                for m in sandbox.inbox.arrived
            ],
        }
        if sandbox.teams_user(user) is not None:
            data.update(teams_state(sandbox.teams_user(user)))
        if user in standin.users:
            dms = standin.messages_in(standin.dm_channel(user))
            data.update(
                modal=standin.open_view(user),
                dms=[slack_message(m) for m in dms],
                home=standin.home.get(user),
                answer=sandbox.answers.get(user),
                in_channel=user in CSCP_MEMBERS,
                channel=[
                    dict(
                        slack_message(m),
                        replies=[slack_message(r) for r in standin.messages_in(CSCP_CHANNEL, thread_ts=m.ts)],
                    )
                    for m in standin.messages_in(CSCP_CHANNEL, top_level=True)
                ]
                if user in CSCP_MEMBERS
                else [],
            )
        return web.json_response(data)

    @routes.post("/api/command")
    async def command(request):
        data = await request.json()
        user = person(data)
        text = (data.get("text") or "").strip()
        if text.split(" ")[0] != "/escalate":
            sandbox.answers[user] = {"text": "The bot has one command here: /escalate"}
            return web.json_response({"ok": True})
        reply = await sandbox.slack.command(user, text[len("/escalate") :].strip())
        sandbox.answers[user] = reply.body if reply.body.get("text") or reply.body.get("blocks") else None
        return web.json_response({"ok": reply.status == 200})

    @routes.post("/api/button")
    async def button(request):
        data = await request.json()
        user = person(data)
        reply = await sandbox.slack.press_button(user, data.get("action_id", ""), data.get("value", ""))
        return web.json_response({"ok": reply.status == 200})

    @routes.post("/api/submit")
    async def submit(request):
        data = await request.json()
        user = person(data)
        reply = await sandbox.slack.submit_values(user, data.get("values", {}))
        await sandbox.bot.outbox.drain()
        return web.json_response({"status": reply.status, **reply.body})

    @routes.post("/api/close")
    async def close(request):
        standin.close_view(person(await request.json()))
        return web.json_response({"ok": True})

    @routes.post("/api/home")
    async def home(request):
        await sandbox.slack.open_home(person(await request.json()))
        return web.json_response({"ok": True})

    @routes.post("/api/teams/invoke")
    async def teams_invoke(request):
        """What Teams sends when a card's button is pressed or a dialog opened or submitted: an invoke activity,
        signed, to the bot; its answer (the card that replaces the one clicked, or the dialog's next card)."""
        data = await request.json()
        user = teams_person(data)
        name = data.get("name", "")
        if name not in ("adaptiveCard/action", "task/fetch", "task/submit"):
            raise web.HTTPBadRequest(text="not an invoke Teams sends from a card")
        reply = await sandbox.teams.invoke(user, name, data.get("value") or {})
        await sandbox.bot.outbox.drain()
        return web.json_response({"status": reply.status, "body": reply.body})

    @routes.post("/api/teams/say")
    async def teams_say(request):
        """A message typed in the person's chat with the bot (or a card's button that says a word for them)."""
        data = await request.json()
        user = teams_person(data)
        reply = await sandbox.teams.say(user, (data.get("text") or "").strip())
        await sandbox.bot.outbox.drain()
        return web.json_response({"status": reply.status})

    @routes.post("/api/clock")
    async def clock(request):
        data = await request.json()
        calendar = sandbox.bot.ctx.policy.working_calendar
        if data.get("working_days"):
            # To that working day, at 9:45 in the morning: after the day's reminders are due.
            day = calendar.add_working_days(calendar.local_date(sandbox.clock.now()), int(data["working_days"]))
            sandbox.clock.set(calendar.at_local(day, calendar.working_hours_start) + timedelta(minutes=45))
        elif data.get("hours"):
            sandbox.clock.advance(timedelta(hours=int(data["hours"])))
        await sandbox.catch_up()
        return web.json_response({"ok": True})

    application = web.Application()
    application.add_routes(routes)
    return application


async def run_sandbox(policy: Policy, database_url: str, port: int) -> None:
    sandbox = await start_sandbox(policy, database_url, port)
    print(f"The sandbox is running. Open {sandbox.url} in your browser. (Ctrl+C stops it.)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
