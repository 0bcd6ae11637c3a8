"""The sandbox: the real bot (Bolt app, engine, scheduler, SQLite file) against a stand-in Slack.

Everything goes the way it goes with Slack: the page's actions become requests to the bot, signed
as Slack signs them; the bot answers through the stand-in's Web API. The clock is the bot's own
injected clock, moved on from the page.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

from aiohttp import web

from bot.email.inbox import Inbox
from bot.runtime import SlackBot, build_slack_bot
from bot.sandbox.workspace import CSCP_CHANNEL, CSCP_CHANNEL_NAME, CSCP_EXECUTIVE, CSCP_MEMBERS, EMAIL_ONLY, PEOPLE
from bot.scheduler import DueWork, start_scheduler
from bot.settings import Settings
from bot.slack.app import BOT_SCOPES
from bot.slack.http import web_app
from bot.standin.client import SlackSide
from bot.standin.server import SlackStandin
from flows.clock import ManualClock
from flows.policy import Policy

log = logging.getLogger(__name__)


async def _serve(application: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@dataclass
class Sandbox:
    bot: SlackBot
    standin: SlackStandin
    slack: SlackSide
    clock: ManualClock
    url: str
    _runners: list
    _tasks: list
    _scheduler: object
    # What the bot answered each person's last command with (Slack shows it only to them).
    answers: dict
    # The mail server the bot e-mails people outside Slack through, and what arrived there.
    inbox: Inbox

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await self.slack.close()
        for runner in self._runners:
            await runner.cleanup()
        await self.inbox.stop()
        self.bot.ctx.db.dispose()

    async def catch_up(self) -> None:
        """After the clock moves: what is due now, delivered."""
        await DueWork(self.bot.ctx, self.bot.outbox).run_once()
        await self.bot.outbox.drain()


async def start_sandbox(policy: Policy, database_url: str, port: int = 8765, start: datetime | None = None) -> Sandbox:
    clock = ManualClock(start or datetime.now(UTC))
    standin = SlackStandin(scopes=set(BOT_SCOPES), users=PEOPLE, wall=lambda: clock.now().timestamp())
    standin.channels[CSCP_CHANNEL] = "private"
    standin_runner, standin_port = await _serve(standin.app())
    secret = secrets.token_hex(16)
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
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_port),
        smtp_starttls=False,
        mail_from="escalations@cscp.example",
    )
    bot = build_slack_bot(settings, policy, clock=clock)
    await bot.directory.refresh_partnership()
    bot_runner, bot_port = await _serve(web_app(bot.app, secret))
    slack = SlackSide(f"http://127.0.0.1:{bot_port}/slack/events", standin, secret)
    worker = asyncio.create_task(bot.outbox.run_forever(), name="outbox")
    scheduler = start_scheduler(DueWork(bot.ctx, bot.outbox))
    sandbox = Sandbox(bot, standin, slack, clock, "", [bot_runner, standin_runner], [worker], scheduler, {}, inbox)
    page_runner, page_port = await _serve(page_app(sandbox), port)
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

    @routes.get("/api/state")
    async def state(request):
        user = request.query.get("user", "")
        calendar = sandbox.bot.ctx.policy.working_calendar
        now = calendar.local(sandbox.clock.now())
        data = {
            "now": f"{now:%A} {now.day} {now:%B %Y}, {now:%H:%M}",
            "working_time": calendar.is_working_time(sandbox.clock.now()),
            "people": [{"id": u.id, "name": u.name, "title": u.title} for u in standin.users.values()],
            "channel_name": CSCP_CHANNEL_NAME,
            "email_people": [{"name": name, "email": email, "title": title} for name, email, title in EMAIL_ONLY],
            "inbox": [
                {"to": ", ".join(m.recipients), "subject": m.mail["Subject"], "text": m.plain}
                for m in sandbox.inbox.arrived
            ],
        }
        if user in standin.users:
            dms = standin.messages_in(standin.dm_channel(user))
            data.update(
                modal=standin.open_view(user),
                dms=[{"ts": m.ts, "text": m.text, "blocks": m.blocks} for m in dms],
                home=standin.home.get(user),
                answer=sandbox.answers.get(user),
                in_channel=user in CSCP_MEMBERS,
                channel=[
                    {
                        "ts": m.ts,
                        "text": m.text,
                        "blocks": m.blocks,
                        "replies": [
                            {"ts": r.ts, "text": r.text, "blocks": r.blocks}
                            for r in standin.messages_in(CSCP_CHANNEL, thread_ts=m.ts)
                        ],
                    }
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
