"""Every background job by name, and the periodic schedule.

A job is a plain function of keyword arguments (JSON values), run in an app context with a fresh
session. It is the boundary: it builds the adapters its services need (WeChat client, payment
gateway, the webhook HTTP session, settings), passes them in, and commits. Jobs may run more than once
(a retry, a duplicate, a second worker): each claims its rows (FOR UPDATE SKIP LOCKED or a
conditional UPDATE) so the effect happens once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JobFunction = Callable[..., Any]
JOBS: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        if name in JOBS:
            raise ValueError(f"job {name} is already registered")
        JOBS[name] = function
        function.job_name = name  # type: ignore[attr-defined]
        return function

    return register


@dataclass(frozen=True)
class Schedule:
    """Run ``job`` once per ``every`` seconds across all workers; ``offset`` shifts the slots
    (a daily job at 19:00 UTC = 03:00 Shanghai has ``every=86400, offset=19*3600``)."""

    job: str
    every: int
    offset: int = 0
    kwargs: dict[str, Any] = field(default_factory=dict)

    def slot(self, now: float) -> int:
        return int((now - self.offset) // self.every)


DAY = 24 * 3600

SCHEDULES: tuple[Schedule, ...] = (
    Schedule("webhooks.dispatch", every=10),
    Schedule("notifications.send", every=60),
    Schedule("cardwallet.dispatch", every=30),
    Schedule("payments.reconcile", every=300, kwargs={"older_than_minutes": 10}),
    Schedule("cards.expire", every=DAY, offset=19 * 3600),  # 03:00 Shanghai
    Schedule("idempotency.purge", every=DAY, offset=19 * 3600 + 1800),  # 03:30 Shanghai
)


def load_jobs() -> dict[str, JobFunction]:
    import server.jobs.tasks  # noqa: F401  (registers every job)

    return JOBS
