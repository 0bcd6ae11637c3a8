"""The due-work job runs on the minute, whenever the bot started, and once at start."""

from datetime import UTC, datetime, timedelta

from bot.scheduler import due_work_trigger
from flows.clock import ManualClock


def test_the_due_work_trigger_fires_at_second_zero_of_every_minute_whatever_the_start():
    trigger = due_work_trigger()
    # A bot started at 09:29:37.250 runs (after its start-up pass) at 09:30:00, not at 09:30:37.
    clock = ManualClock(datetime(2026, 4, 14, 8, 29, 37, 250000, tzinfo=UTC))
    fires, previous = [], None
    for _ in range(3):
        previous = trigger.get_next_fire_time(previous, clock.now())
        fires.append(previous)
        clock.set(previous + timedelta(microseconds=1))
    assert fires == [
        datetime(2026, 4, 14, 8, 30, 0, tzinfo=UTC),
        datetime(2026, 4, 14, 8, 31, 0, tzinfo=UTC),
        datetime(2026, 4, 14, 8, 32, 0, tzinfo=UTC),
    ]
    # At :00 exactly, that minute is the next fire time; across a change of the clocks in London, still :00.
    on_the_minute = datetime(2026, 3, 29, 0, 59, 0, tzinfo=UTC)  # 01:59 GMT, the clocks go forward at 01:00 UTC
    assert trigger.get_next_fire_time(None, on_the_minute) == on_the_minute
    assert trigger.get_next_fire_time(None, on_the_minute + timedelta(seconds=59)) == datetime(
        2026, 3, 29, 1, 0, 0, tzinfo=UTC
    )
