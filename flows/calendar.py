"""Working days as the policy counts them: weekends and bank holidays in England excluded.

Dates are London dates; stored times are UTC. Bank holidays come from the `holidays` package.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str = "Europe/London"
    country: str = "GB"
    subdivision: str | None = "ENG"
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    # A stage is due at close of business on its last working day.
    close_of_business: time = time(17, 0)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _holidays(self, year: int) -> frozenset[date]:
        # holidays' own objects fill in years lazily; keep a frozen set per year so threads can share it.
        with self._lock:
            if year not in self._cache:
                table = holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=year)
                self._cache[year] = frozenset(table.keys())
            return self._cache[year]

    def holiday_name(self, day: date) -> str | None:
        table = holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=day.year)
        return table.get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, otherwise the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start`; a non-working start counts from the next working day."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = self.next_working_day(start)
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def subtract_working_days(self, day: date, days: int) -> date:
        """The working day `days` working days before `day` (`day` itself, or the one before it, for 0)."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        remaining = days
        while remaining:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` is before `start`."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def at_local(self, day: date, clock_time: time) -> datetime:
        """A London wall-clock time on `day`, as an aware UTC datetime."""
        return datetime.combine(day, clock_time, tzinfo=self.tz).astimezone(UTC)

    def stage_deadline(self, started_at: datetime, working_days: int) -> datetime:
        """When a stage started at `started_at` is due: close of business, `working_days` later."""
        due_day = self.add_working_days(self.local_date(started_at), working_days)
        return self.at_local(due_day, self.close_of_business)

    def is_working_time(self, moment: datetime) -> bool:
        local = self.local(moment)
        return self.is_working_day(local.date()) and self.working_hours_start <= local.time() < self.working_hours_end

    def next_working_time(self, moment: datetime) -> datetime:
        """`moment` if it is within working hours, otherwise the next start of working hours."""
        if self.is_working_time(moment):
            return moment
        local = self.local(moment)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.working_hours_start:
            return self.at_local(day, self.working_hours_start)
        return self.at_local(self.next_working_day(day + timedelta(days=1)), self.working_hours_start)


ENGLAND = WorkingCalendar()


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start`, in England (weekends and bank holidays excluded)."""
    return ENGLAND.add_working_days(start, days)
