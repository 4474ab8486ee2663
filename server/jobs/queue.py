"""The job queue: RQ on Redis, or — the embedded default, with no REDIS_URL — a thread of this process.

``get_queue().enqueue(name, **kwargs)`` queues a job of server/jobs/registry.py by name. Both backends
run the same function through ``run_job``: in an app context, with a fresh session rolled back on error.

Right after a commit that wrote webhook deliveries, subscribe messages or card-wallet syncs, the
dispatch / send job is queued (``_kick_after_commit``). Nothing depends on that kick arriving: the
rows are committed, and the periodic sweeps find whatever a crash, a lost job or a dead Redis left behind.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.db import db

logger = logging.getLogger(__name__)

QUEUE_NAME = "kabao"
#: Seconds a job may run before RQ stops it.
JOB_TIMEOUT = 600
#: Times RQ queues a job again when it raised or its worker died mid-job (RQ finds it abandoned at the
#: first registry cleanup after the dead worker's heartbeat, JOB_TIMEOUT + 60 s, lapsed). Every job may
#: run more than once; without this a daily job killed mid-run would wait for the next day.
RETRIES = 3
_EXTENSION = "kabao_jobs"
#: The embedded backend's periodic scheduler, once the server has started it.
SCHEDULER = "kabao_jobs_scheduler"


class JobQueue(Protocol):
    def enqueue(self, name: str, /, job_id: str | None = None, **kwargs: Any) -> None: ...


def run_job(name: str, kwargs: dict[str, Any]) -> Any:
    """Run job ``name`` in the current app context; its own commits stand, the rest is rolled back."""
    from server.jobs.registry import load_jobs

    function = load_jobs()[name]
    try:
        return function(**kwargs)
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


def perform(name: str, kwargs: dict[str, Any]) -> Any:
    """What RQ calls: ``run_job`` in the worker's app (a plain ``rq worker`` builds one from wsgi.py)."""
    if has_app_context():
        result = run_job(name, kwargs)
    else:
        from wsgi import app

        with app.app_context():
            result = run_job(name, kwargs)
    return _jsonable(result)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


class RQQueue:
    """Jobs on RQ (``flask --app wsgi worker`` runs them)."""

    def __init__(self, connection: Any) -> None:
        from rq import Queue, Retry
        from rq.serializers import JSONSerializer

        self.rq = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
        self.retry = Retry(max=RETRIES)

    def enqueue(self, name: str, /, job_id: str | None = None, **kwargs: Any) -> None:
        self.rq.enqueue(perform, name, kwargs, job_id=job_id, description=name, job_timeout=JOB_TIMEOUT,
                        result_ttl=3600, failure_ttl=7 * 24 * 3600, retry=self.retry)


class EmbeddedQueue:
    """Jobs in one thread of this process, in order. A job already waiting is not queued twice (a kick
    during a run does queue another run). The thread ends when the queue is empty (so a CLI command that
    queued a job waits for it); the next job starts it again."""

    THREAD_NAME = "kabao-jobs"

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._jobs: deque[tuple[str, dict[str, Any], str]] = deque()
        self._waiting: set[str] = set()
        self._lock = threading.Condition()
        self._running = False

    def enqueue(self, name: str, /, job_id: str | None = None, **kwargs: Any) -> None:
        key = job_id or f"{name}:{json.dumps(kwargs, sort_keys=True)}"
        with self._lock:
            if key in self._waiting:
                return
            self._waiting.add(key)
            self._jobs.append((name, kwargs, key))
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=False).start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is running or waiting (False if ``timeout`` seconds went by first)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._running, timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._running = False
                    self._lock.notify_all()
                    return
                name, kwargs, key = self._jobs.popleft()
                self._waiting.discard(key)
            with self._app.app_context():
                try:
                    run_job(name, kwargs)
                except Exception:  # the sweeps retry; the thread must not die
                    logger.exception("job %s failed", name)


def init_jobs(app: Flask) -> None:
    """Choose the backend: RQ when REDIS_URL is set (JOBS_BACKEND may force either), else embedded."""
    backend = app.config.get("JOBS_BACKEND") or ("rq" if app.config.get("REDIS_URL") else "embedded")
    if backend == "rq":
        app.extensions[_EXTENSION] = RQQueue(app.extensions["kabao_redis"])
    elif backend == "embedded":
        queue = app.extensions[_EXTENSION] = EmbeddedQueue(app)
        if app.config.get("JOBS_SCHEDULE"):
            _schedule_when_serving(app, queue)
    else:
        raise RuntimeError(f"JOBS_BACKEND must be rq or embedded, not {backend!r}")


def _schedule_when_serving(app: Flask, queue: EmbeddedQueue) -> None:
    """Start the periodic jobs with the first request: a server, not every ``flask`` command."""
    started = threading.Lock()

    @app.before_request
    def start_periodic_jobs() -> None:
        if started.acquire(blocking=False):
            from server.jobs.schedule import PeriodicScheduler

            scheduler = app.extensions[SCHEDULER] = PeriodicScheduler(app.extensions["kabao_redis"], queue)
            scheduler.start()


def get_queue(app: Flask | None = None) -> JobQueue:
    return (app or current_app).extensions[_EXTENSION]


def set_queue(app: Flask, queue: JobQueue) -> None:
    app.extensions[_EXTENSION] = queue


def wait_for_jobs(app: Flask, timeout: float = 10.0) -> bool:
    """Wait until the app's embedded job thread is idle (True at once for RQ: workers run elsewhere)."""
    queue = app.extensions.get(_EXTENSION)
    return queue.wait_idle(timeout) if isinstance(queue, EmbeddedQueue) else True


# --- the after-commit kick ------------------------------------------------------------------------


def _kicks(session: Session) -> list[tuple[str, str]]:
    from server.cardwallet.services import SYNC_DUE
    from server.notifications.services import MESSAGES_QUEUED
    from server.webhooks.events import DELIVERIES_WRITTEN

    names = []
    if session.info.pop(DELIVERIES_WRITTEN, False):
        names.append(("webhooks.dispatch", "WEBHOOKS_AFTER_COMMIT"))
    if session.info.pop(MESSAGES_QUEUED, False):
        names.append(("notifications.send", "NOTIFICATIONS_AFTER_COMMIT"))
    if session.info.pop(SYNC_DUE, False):
        names.append(("cardwallet.dispatch", "CARD_WALLET_AFTER_COMMIT"))
    return names


@event.listens_for(Session, "after_commit")
def _kick_after_commit(session: Session) -> None:
    kicks = _kicks(session)
    if not kicks or not has_app_context() or _EXTENSION not in current_app.extensions:
        return
    for name, setting in kicks:
        if not current_app.config.get(setting, True):
            continue
        try:
            get_queue().enqueue(name)
        except Exception:  # Redis down: the periodic sweep finds the committed rows
            logger.warning("could not queue %s after commit; the periodic sweep will", name, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    _kicks(session)
