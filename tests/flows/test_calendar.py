from datetime import UTC, date, datetime

import pytest

from flows.calendar import ENGLAND, add_working_days


@pytest.mark.parametrize(
    "start, days, expected",
    [
        # Ordinary week: Monday + 7 is the Wednesday after next.
        (date(2026, 3, 2), 7, date(2026, 3, 11)),
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1 is Monday
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
        # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
        (date(2026, 4, 1), 7, date(2026, 4, 14)),
        (date(2026, 4, 2), 1, date(2026, 4, 7)),
        # Christmas and New Year 2026/27: 25 Dec (Fri), 28 Dec (Boxing Day observed), 1 Jan (Fri).
        (date(2026, 12, 23), 1, date(2026, 12, 24)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        (date(2026, 12, 24), 7, date(2027, 1, 7)),
        # Christmas 2022: 26 Dec (Mon) and 27 Dec (Christmas Day observed), 2 Jan 2023 (New Year observed).
        (date(2022, 12, 23), 1, date(2022, 12, 28)),
        (date(2022, 12, 30), 1, date(2023, 1, 3)),
        # One-off bank holidays: the Queen's state funeral and the King's coronation.
        (date(2022, 9, 16), 1, date(2022, 9, 20)),
        (date(2023, 5, 5), 1, date(2023, 5, 9)),  # 8 May 2023 (Coronation); 1 May was May Day
        # A weekend start counts from the next working day.
        (date(2026, 3, 7), 0, date(2026, 3, 9)),
        (date(2026, 3, 7), 7, date(2026, 3, 18)),
        (date(2026, 3, 8), 1, date(2026, 3, 10)),
        # A bank holiday start does too: Good Friday 2026 counts from Tuesday 7 April.
        (date(2026, 4, 3), 7, date(2026, 4, 16)),
    ],
)
def test_add_working_days(start, days, expected):
    assert add_working_days(start, days) == expected


def test_bank_holidays_are_not_working_days():
    for day in (date(2022, 9, 19), date(2023, 5, 8), date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25)):
        assert not ENGLAND.is_working_day(day), day
    assert ENGLAND.is_working_day(date(2026, 4, 7))


def test_stage_deadline_is_close_of_business_london_stored_in_utc():
    started = datetime(2026, 4, 1, 14, 30, tzinfo=UTC)
    due = ENGLAND.stage_deadline(started, 7)
    # 17:00 British Summer Time is 16:00 UTC.
    assert due == datetime(2026, 4, 14, 16, 0, tzinfo=UTC)
    winter = ENGLAND.stage_deadline(datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 7)
    assert winter == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


def test_a_stage_started_late_evening_uses_the_london_date():
    # 23:30 UTC on Tuesday 31 March is 00:30 BST on Wednesday 1 April.
    due = ENGLAND.stage_deadline(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), 7)
    assert due.date() == date(2026, 4, 14)


def test_working_time_and_the_next_start_of_working_hours():
    friday_evening = datetime(2026, 4, 2, 17, 30, tzinfo=UTC)  # Thursday 18:30 BST before Easter
    assert not ENGLAND.is_working_time(friday_evening)
    assert ENGLAND.next_working_time(friday_evening) == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    early = datetime(2026, 4, 7, 6, 0, tzinfo=UTC)
    assert ENGLAND.next_working_time(early) == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    during = datetime(2026, 4, 7, 12, 0, tzinfo=UTC)
    assert ENGLAND.next_working_time(during) == during


def test_working_days_between():
    assert ENGLAND.working_days_between(date(2026, 4, 1), date(2026, 4, 14)) == 7
    assert ENGLAND.working_days_between(date(2026, 4, 14), date(2026, 4, 1)) == -7
    assert ENGLAND.working_days_between(date(2026, 4, 14), date(2026, 4, 14)) == 0
