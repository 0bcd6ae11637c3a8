"""When the themes report is due in the partnership's channel, and which period it covers."""

from datetime import UTC, date, datetime

import pytest

from flows.errors import Refused
from flows.policy import load_policy
from flows.report_posts import period_asked, period_due


def due(now: datetime, **report):
    policy = load_policy()
    policy = policy.model_copy(update={"report": policy.report.model_copy(update=report)})
    return period_due(policy, now)


def test_the_financial_years_quarters_are_reported_on_the_first_working_morning_after_each():
    before = due(datetime(2026, 7, 1, 7, 59, tzinfo=UTC))  # 08:59 in London on Wednesday 1 July
    assert (before.start, before.end) == (date(2026, 1, 1), date(2026, 3, 31))
    after = due(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    assert (after.start, after.end) == (date(2026, 4, 1), date(2026, 6, 30))
    # 1 January 2027 is a bank holiday, 2-3 January a weekend: the October-December report goes on Monday 4th.
    assert due(datetime(2027, 1, 3, 12, 0, tzinfo=UTC)).end == date(2026, 9, 30)
    assert due(datetime(2027, 1, 4, 9, 0, tzinfo=UTC)).end == date(2026, 12, 31)
    assert due(datetime(2027, 2, 15, 9, 0, tzinfo=UTC)).start == date(2026, 10, 1)


def test_other_schedules_and_none():
    assert due(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), every_months=0) is None
    yearly = due(datetime(2027, 4, 1, 12, 0, tzinfo=UTC), every_months=12)
    assert (yearly.start, yearly.end) == (date(2026, 4, 1), date(2027, 3, 31))
    monthly = due(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), every_months=1, first_month=1)
    assert (monthly.start, monthly.end) == (date(2026, 2, 1), date(2026, 2, 28))


def test_a_period_asked_for_is_two_dates_in_order(ctx):
    assert period_asked(ctx, ["2026-04-01", "2027-03-31"]).end == date(2027, 3, 31)
    for words in (["2026-04-01"], ["1 April", "2026-05-01"], ["2026-05-01", "2026-04-01"]):
        with pytest.raises(Refused):
            period_asked(ctx, words)
