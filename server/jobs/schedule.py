"""Periodic jobs, queued once per slot across every worker and machine.

Each scheduler (one per worker process; one thread of the server in the embedded default) looks every
second; for each schedule whose current slot has begun, the first scheduler to ``SET NX`` the slot's
Redis key queues the job — the others find the key taken. A worker that starts mid-slot catches up on
that slot's run if nobody ran it (a daily job missed at 03:00 runs when the first worker comes up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from server.jobs.queue import JobQueue
from server.jobs.registry import SCHEDULES, Schedule

logger = logging.getLogger(__name__)

KEY_PREFIX = "kabao:periodic:"


class PeriodicScheduler:
    def __init__(self, redis: Any, queue: JobQueue, schedules: Sequence[Schedule] = SCHEDULES,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis, self.queue, self.schedules, self.clock = redis, queue, tuple(schedules), clock
        self._stop = threading.Event()

    def tick(self, now: float | None = None) -> list[str]:
        """Queue every schedule whose slot nobody has claimed yet; the names queued."""
        now = self.clock() if now is None else now
        queued = []
        for schedule in self.schedules:
            key = f"{KEY_PREFIX}{schedule.job}:{schedule.every}:{schedule.slot(now)}"
            try:
                if not self.redis.set(key, "1", nx=True, ex=max(2 * schedule.every, 60)):
                    continue
                self.queue.enqueue(schedule.job, **schedule.kwargs)
            except Exception:
                logger.warning("could not queue periodic job %s", schedule.job, exc_info=True)
                continue
            queued.append(schedule.job)
        return queued

    def run(self, interval: float = 1.0) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(interval)

    def start(self, name: str = "kabao-schedule") -> threading.Thread:
        thread = threading.Thread(target=self.run, name=name, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
