"""Times as users see them: ISO 8601 with the +08:00 offset, dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.db import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def shanghai_today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Shanghai calendar days [first, last] as instants [since, until); an open end stays None."""
    since = datetime.combine(first, time(), SHANGHAI) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), SHANGHAI) if last else None
    return since, until
