"""The scheduler: one APScheduler job, run on the minute (at :00, by a cron trigger, whenever the bot started)
and once at start, that works out from the database what is due now (reminders, overdue prompts, the weekly
digest, the quarterly themes report) and wakes delivery. On the minute, a reminder due at 09:30 goes at
09:30:00, and several instances run their passes together rather than each at its own second (the ledgers
keep them to one set of reminders).

The database is the source of truth: jobs carry an id and a reference to a method, nothing is
pickled, and a restart loses nothing because what is due is worked out again from the cases.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.outbox import Outbox
from flows.context import Context
from flows.digest import record_due_digest
from flows.reminders import refresh_cards_each_working_day, remind_agreed_actions, send_due_reminders
from flows.report_posts import record_due_report
from flows.retention import apply_retention

log = logging.getLogger(__name__)
JOB_ID = "due-work"


_frozen = False


def _freeze_what_start_up_made() -> None:
    """Once per process, before the first pass: what start-up made (modules, tables, the policy) lives as long as
    the process, so gc.freeze() takes it out of the collector's generations. The first pass's rows set off full
    collections that otherwise walk all of it again (60 ms each at 10,000 open cases)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class DueWork:
    def __init__(self, ctx: Context, outbox: Outbox | None = None):
        self.ctx, self.outbox = ctx, outbox
        self._retention_applied_on = None
        _freeze_what_start_up_made()

    async def _retention_once_a_working_day(self) -> int:
        """The retention rule runs once each working day, in working hours (erasing twice is harmless)."""
        calendar = self.ctx.policy.working_calendar
        now = self.ctx.clock.now()
        today = calendar.local_date(now)
        if self._retention_applied_on == today or not calendar.is_working_time(now):
            return 0
        self._retention_applied_on = today
        return len(await asyncio.to_thread(apply_retention, self.ctx))

    async def _reminders(self) -> int:
        return await asyncio.to_thread(send_due_reminders, self.ctx) + await asyncio.to_thread(
            remind_agreed_actions, self.ctx
        )

    async def _cards_retention_and_digest(self) -> tuple[int, int]:
        refreshed = await asyncio.to_thread(refresh_cards_each_working_day, self.ctx)
        refreshed += await self._retention_once_a_working_day()
        digest = await asyncio.to_thread(record_due_digest, self.ctx)
        digest += await asyncio.to_thread(record_due_report, self.ctx)
        return refreshed, digest

    async def run_once(self) -> None:
        # The reminders and the rest touch different rows, each under its own ledger (as two instances' passes
        # would), so they run side by side: one's Python runs while the other waits for the database.
        # Both finish before a failure of either is raised, so no part of this pass outlives it.
        done = await asyncio.gather(self._reminders(), self._cards_retention_and_digest(), return_exceptions=True)
        for failed in done:
            if isinstance(failed, BaseException):
                raise failed
        reminders, (refreshed, digest) = done
        if refreshed and self.outbox:
            self.outbox.wake()
        if reminders or digest:
            log.info("due now: %s reminders%s", reminders, ", the digest or report" if digest else "")
            if self.outbox:
                self.outbox.wake()


def due_work_trigger() -> CronTrigger:
    """Every minute, at second 0 (UTC: the minute is the same in every timezone)."""
    return CronTrigger(second=0, timezone=UTC)


def start_scheduler(work: DueWork) -> AsyncIOScheduler:
    """Start in the running event loop; the first run is now, to catch up on anything missed, then on the minute."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        work.run_once,
        due_work_trigger(),
        id=JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=30,  # a minute reached while the loop was busy still runs, once
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
