"""How long a merchant or product has waited for platform review, in working days.

The onboarding documents promise a decision within 1–3 working days (source document 000, step 4),
so the queues flag what has waited longer. Working time is the part of the wait that falls on
Monday to Friday, Asia/Shanghai; public holidays and 调休 weekends are not modelled. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from server.timeutil import SHANGHAI

#: The review promise of the documents: at most 3 working days.
REVIEW_PROMISE_WORKING_DAYS = 3
_DAY = timedelta(days=1)


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """The part of [start, end) that falls on Monday–Friday in Shanghai; zero if end is not after start."""
    if end <= start:
        return timedelta(0)
    start, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        if day.weekday() < 5:
            day_start = datetime.combine(day, time(), SHANGHAI)
            overlap = min(end, day_start + _DAY) - max(start, day_start)
            total += max(overlap, timedelta(0))
        day += _DAY
    return total


@dataclass(frozen=True)
class ReviewWait:
    """A wait for review: the time since submission, the working part of it, and whether it broke the promise."""

    elapsed: timedelta
    working: timedelta

    @property
    def working_days(self) -> float:
        return self.working / _DAY

    @property
    def overdue(self) -> bool:
        """Waited beyond REVIEW_PROMISE_WORKING_DAYS working days."""
        return self.working > REVIEW_PROMISE_WORKING_DAYS * _DAY

    @property
    def text(self) -> str:
        """In Chinese, e.g. 已等待 4 天 2 小时（2.1 个工作日）."""
        days, seconds = self.elapsed.days, self.elapsed.seconds
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        if days:
            spent = f"{days} 天 {hours} 小时"
        elif hours:
            spent = f"{hours} 小时 {minutes} 分钟"
        else:
            spent = f"{minutes} 分钟"
        return f"已等待 {spent}（{self.working_days:.1f} 个工作日）"


def review_wait(submitted_at: datetime, now: datetime) -> ReviewWait:
    """How long something submitted at ``submitted_at`` has waited by ``now``."""
    return ReviewWait(elapsed=max(now - submitted_at, timedelta(0)), working=working_time_between(submitted_at, now))
