"""Review waits in working days (Monday–Friday, Asia/Shanghai) and the 3-working-day flag."""

from datetime import UTC, datetime, timedelta

import pytest

from server.platform.review_time import REVIEW_PROMISE_WORKING_DAYS, review_wait, working_time_between
from server.timeutil import SHANGHAI

MINUTE = timedelta(minutes=1)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai time in December 2025: the 1st is a Monday, the 6th and 7th a weekend."""
    return datetime(2025, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_the_calendar_of_these_tests():
    assert at(1).weekday() == 0 and at(6).weekday() == 5 and at(7).weekday() == 6


def test_within_the_week_every_hour_counts():
    assert working_time_between(at(1), at(3)) == timedelta(days=2)


def test_a_weekend_does_not_count():
    assert working_time_between(at(5), at(8)) == timedelta(days=1)  # Fri 10:00 → Mon 10:00
    assert working_time_between(at(6), at(8, 0)) == timedelta(0)  # Sat → Mon 00:00
    assert working_time_between(at(6), at(8, 1)) == timedelta(hours=1)


def test_no_time_when_the_end_is_not_after_the_start():
    assert working_time_between(at(3), at(3)) == timedelta(0)
    assert working_time_between(at(3), at(2)) == timedelta(0)
    assert review_wait(at(3), at(2)).elapsed == timedelta(0)


def test_days_are_shanghai_days_whatever_the_zone_given():
    # Friday 23:00 Shanghai is Friday 15:00 UTC; Saturday 01:00 Shanghai is Friday 17:00 UTC.
    start, end = at(5, 23).astimezone(UTC), at(6, 1).astimezone(UTC)
    assert working_time_between(start, end) == timedelta(hours=1)


def test_three_working_days_within_the_week_is_the_threshold():
    assert REVIEW_PROMISE_WORKING_DAYS == 3
    assert not review_wait(at(1), at(4)).overdue  # Mon 10:00 → Thu 10:00: exactly 3
    assert review_wait(at(1), at(4) + MINUTE).overdue


def test_three_working_days_across_a_weekend_is_the_threshold():
    # Fri 10:00 → Wed 10:00 is 5 calendar days but 3 working days.
    assert not review_wait(at(5), at(10)).overdue
    assert review_wait(at(5), at(10) + MINUTE).overdue
    assert review_wait(at(5), at(10)).working_days == pytest.approx(3)


def test_a_submission_on_the_weekend_starts_counting_on_monday():
    assert not review_wait(at(6), at(11, 0)).overdue  # Sat → Thu 00:00: Mon–Wed
    assert review_wait(at(6), at(11, 0) + MINUTE).overdue


def test_the_wait_is_told_in_chinese():
    assert review_wait(at(5), at(10, 12)).text == "已等待 5 天 2 小时（3.1 个工作日）"
    assert review_wait(at(1), at(1, 13, 5)).text == "已等待 3 小时 5 分钟（0.1 个工作日）"
    assert review_wait(at(1), at(1, 10, 7)).text == "已等待 7 分钟（0.0 个工作日）"
