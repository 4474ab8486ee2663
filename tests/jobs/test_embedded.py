"""The embedded default: with no REDIS_URL the same jobs run in a thread of this process."""

from __future__ import annotations

import threading

import fakeredis
import pytest
from sqlalchemy import select

from server import create_app
from server.db import db
from server.jobs.queue import EmbeddedQueue, get_queue, wait_for_jobs
from server.jobs.registry import DAY, JOBS, SCHEDULES, Schedule, job
from server.jobs.schedule import PeriodicScheduler
from server.notifications.models import OutboxMessage
from server.notifications.services import TemplateKey, queue_message
from tests import issuance_support as support

RUNS: list[dict] = []
GATE = threading.Event()


@job("tests.record")
def _record(value: int, block: bool = False, fail: bool = False) -> None:
    RUNS.append({"value": value, "thread": threading.current_thread().name,
                 "session": db.session.get_bind().dialect.name})
    if block:
        GATE.wait(5)
    if fail:
        raise RuntimeError("a job that fails")


@pytest.fixture
def embedded(app_config):
    """An app with no Redis at all: the in-process stand-in and the embedded job thread."""
    RUNS.clear()
    GATE.clear()
    return create_app({**app_config, "REDIS_URL": None, "JOBS_BACKEND": None})


def test_no_redis_url_means_the_embedded_thread(embedded):
    assert isinstance(get_queue(embedded), EmbeddedQueue)
    get_queue(embedded).enqueue("tests.record", value=1)
    assert wait_for_jobs(embedded)
    assert [{"value": 1, "thread": "kabao-jobs", "session": RUNS[0]["session"]}] == RUNS


def test_a_job_waiting_is_not_queued_twice_and_a_failure_does_not_stop_the_thread(embedded):
    queue = get_queue(embedded)
    queue.enqueue("tests.record", value=1, block=True)
    while not RUNS:  # the first job is running
        pass
    for _ in range(3):
        queue.enqueue("tests.record", value=2)  # one waits, the others are the same job
    queue.enqueue("tests.record", value=3, fail=True)
    queue.enqueue("tests.record", value=4)
    GATE.set()
    assert wait_for_jobs(embedded)
    assert [run["value"] for run in RUNS] == [1, 2, 3, 4]


def test_a_committed_subscribe_message_is_sent_by_the_job_thread(app, embedded, shop):
    consumer_id = support.consumer(app)
    with embedded.app_context():
        queue_message(db.session, merchant_id=shop.merchant_id, consumer_id=consumer_id,
                      template_key=TemplateKey.TOP_UP, payload={"card": "卡"})
        db.session.commit()  # the kick queues notifications.send
    assert wait_for_jobs(embedded)
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        # no template id is configured: the job ran and recorded it as failed, without calling WeChat
        assert (message.status, message.attempts) == ("failed", 1)


def test_every_scheduled_job_is_registered():
    import server.jobs.tasks  # noqa: F401

    assert {schedule.job for schedule in SCHEDULES} <= set(JOBS)
    assert {"webhooks.deliver", "notifications.send", "payments.reconcile", "cards.expire",
            "idempotency.purge", "webhooks.dispatch"} <= set(JOBS)


class _Recorder:
    def __init__(self) -> None:
        self.jobs: list[str] = []

    def enqueue(self, name: str, /, job_id=None, **kwargs) -> None:
        self.jobs.append(name)


def test_periodic_jobs_are_queued_once_per_slot_across_schedulers():
    redis = fakeredis.FakeRedis()
    schedules = [Schedule("webhooks.dispatch", every=10), Schedule("cards.expire", every=DAY, offset=19 * 3600)]
    first, second = _Recorder(), _Recorder()
    a, b = PeriodicScheduler(redis, first, schedules), PeriodicScheduler(redis, second, schedules)
    start = 1_800_000_000.0  # 2027-01-15 08:00 UTC
    assert sorted(a.tick(start) + b.tick(start)) == ["cards.expire", "webhooks.dispatch"]
    assert a.tick(start + 5) == [] and b.tick(start + 9) == []
    assert b.tick(start + 10) == ["webhooks.dispatch"] and a.tick(start + 11) == []
    # the daily job comes again only after 19:00 UTC (03:00 Shanghai)
    assert "cards.expire" not in a.tick(start + 10 * 3600) + b.tick(start + 10 * 3600 + 30)
    assert "cards.expire" in a.tick(start + 11 * 3600 + 1) + b.tick(start + 11 * 3600 + 2)
    assert first.jobs.count("cards.expire") + second.jobs.count("cards.expire") == 2


def test_the_worker_command_refuses_the_embedded_backend(embedded):
    result = embedded.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "embedded" in result.output


def test_the_server_runs_the_periodic_jobs_from_its_first_request(app_config):
    """``make run``: no Redis, no worker — the server's own threads queue and run the schedule."""
    from server.jobs.queue import SCHEDULER

    served = create_app({**app_config, "REDIS_URL": None, "JOBS_BACKEND": None, "JOBS_SCHEDULE": True})
    assert SCHEDULER not in served.extensions  # a `flask` command that serves nothing runs no schedule
    served.test_client().get("/healthz")
    scheduler = served.extensions[SCHEDULER]
    try:
        redis = served.extensions["kabao_redis"]
        for _ in range(100):
            if len(redis.keys("kabao:periodic:*")) == len(SCHEDULES):
                break
            threading.Event().wait(0.05)
        assert len(redis.keys("kabao:periodic:*")) == len(SCHEDULES)
    finally:
        scheduler.stop()
    assert wait_for_jobs(served, timeout=30)
