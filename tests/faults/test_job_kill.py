"""`kill -9` of the background worker (`flask --app wsgi worker`, RQ) in the middle of a job, then a new
worker: each job's effect happens exactly once.

- Card expiry over more cards than one batch: the test holds the last card's row lock, so the job has
  flushed a batch and waits, uncommitted, when its worker is killed. Nothing is half-written; RQ retries
  the abandoned job on the next worker; each card is expired once, with one expire journal, and
  `flask verify-ledger` is clean.
- Webhook deliveries: the receiver holds a POST and the worker is killed while it waits for the answer
  (the delivery claimed, its outcome unknown). The next workers send the rest; once a killed attempt's
  send lease has lapsed, the sweep hands its delivery out again. Each event reaches the receiver at
  least once (a killed one twice: receivers dedupe by event id), each delivery is recorded delivered once.

Two waits are shortened, not skipped: RQ takes a dead SimpleWorker's job for abandoned only once its
heartbeat (JOB_TIMEOUT + 60 s) has lapsed, and a send lease lasts two minutes. The test ends both now;
the next worker's start (RQ's maintenance) and the sweep do the rest, as they would later.

The workers run on the suite's PostgreSQL database and the test's own Redis; one at a time, since each
start (importing the app) is the slow part.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, text, update

from server import create_app
from server.cards.models import Card, CardStatus
from server.db import db, utcnow
from server.jobs.queue import QUEUE_NAME, get_queue
from server.ledger.models import Journal, JournalKind
from server.webhooks.events import record_event
from server.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests import factories
from tests.faults.services import OwnWorker, wait_for
from tests.webhooks.support import create_webhook

pytestmark = pytest.mark.postgres

EXPIRY_KILLS = 1
DELIVERY_KILLS = 2
EVENTS = 10
#: More than one batch of expire_cards (500), so the killed run has flushed one.
CARDS = 520


@pytest.fixture
def worker_env(app_config, redis_server):
    return {"DATABASE_URL": app_config["DATABASE_URL"], "REDIS_URL": redis_server.url, "APP_ENV": "test",
            "SECRET_KEY": app_config["SECRET_KEY"], "JOBS_BACKEND": "rq"}


@pytest.fixture
def start_worker(worker_env):
    """Start a worker; each one started is killed at the end (its log shown if the test failed)."""
    started: list[OwnWorker] = []

    def start() -> OwnWorker:
        worker = OwnWorker(worker_env)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.kill()
        print(worker.output()[-3000:])
        worker.cleanup()


class Receiver:
    """Counts the POSTs of each event id and answers 200; armed, it holds the next one until released."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.held: list[str] = []
        self.arrived, self.release = threading.Event(), threading.Event()
        self._armed = False
        self._lock = threading.Lock()

    def arm(self) -> None:
        self.arrived.clear()
        self.release.clear()
        with self._lock:
            self._armed = True

    def take(self, event_id: str) -> bool:
        with self._lock:
            self.received[event_id] += 1
            hold, self._armed = self._armed, False
            if hold:
                self.held.append(event_id)
        return hold


@pytest.fixture
def receiver():
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event_id = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["id"]
            if receiver.take(event_id):
                receiver.arrived.set()
                receiver.release.wait(30)
            with contextlib.suppress(OSError):  # the sender may be dead by now
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield receiver
    receiver.release.set()
    server.shutdown()
    server.server_close()


def _heartbeat_lapses(redis_url: str) -> list[str]:
    """The dead worker's heartbeat lapses now, not JOB_TIMEOUT + 60 s later: the next worker's start
    (RQ's maintenance) finds the jobs it was running abandoned and retries them. Their names."""
    connection = redis.Redis.from_url(redis_url)
    registry = StartedJobRegistry(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    entries = connection.zrange(registry.key, 0, -1)
    connection.zadd(registry.key, dict.fromkeys(entries, time.time() - 1))
    return [Job.fetch(registry.parse_job_id(entry), connection=connection, serializer=JSONSerializer).description
            for entry in entries]


def _query(app, statement, **params):
    with app.app_context():
        try:
            return db.session.execute(statement, params).all()
        finally:
            db.session.remove()


def _lock_waiter(app) -> int | None:
    """A backend of this database waiting for a lock: the worker's expiry queued behind the test's."""
    rows = _query(app, text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"))
    return rows[0].pid if rows else None


def _backend_alive(app, pid: int) -> bool:
    return bool(_query(app, text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), pid=pid))


def _expired(app) -> tuple[int, int]:
    """(cards expired, expire journals)."""
    cards = _query(app, select(func.count()).select_from(Card).where(Card.status == CardStatus.EXPIRED))
    journals = _query(app, select(func.count()).select_from(Journal).where(Journal.kind == JournalKind.EXPIRE))
    return cards[0][0], journals[0][0]


def _delivery_statuses(app) -> dict[str, int]:
    return dict(_query(app, select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)))


def _kill_mid_expiry(app, card_ids, start_worker, redis_url) -> list[str]:
    """A worker's first periodic run of the day expires the cards: killed while it waits for the last one."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as holder:
        holder.execute(select(Card.id).where(Card.id == max(card_ids)).with_for_update())
        worker = start_worker()
        backend = wait_for(lambda: _lock_waiter(app), timeout=60, interval=0.2)
        worker.kill()
        holder.rollback()
    wait_for(lambda: not _backend_alive(app, backend), timeout=30, interval=0.2)
    assert _expired(app) == (0, 0), "nothing half-written"
    return _heartbeat_lapses(redis_url)


def _kill_mid_delivery(receiver, start_worker, redis_url) -> list[str]:
    receiver.arm()
    worker = start_worker()
    assert receiver.arrived.wait(60), "no delivery reached the receiver"
    worker.kill()
    receiver.release.set()
    return _heartbeat_lapses(redis_url)


def test_workers_killed_mid_job_leave_each_effect_done_once(app, app_config, shop, redis_server, start_worker,
                                                            receiver):
    with app.app_context():
        product = factories.product(db.session, factories.merchant(db.session))
        past = utcnow() - timedelta(days=1)
        card_ids = [factories.card(db.session, product, points=10, expires_at=past).id for _ in range(CARDS)]
        db.session.commit()
    retried = []
    for _ in range(EXPIRY_KILLS):
        retried += _kill_mid_expiry(app, card_ids, start_worker, redis_server.url)

    with app.test_client() as client:
        create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    rq_app = create_app({**app_config, "JOBS_BACKEND": "rq", "REDIS_URL": redis_server.url})
    with rq_app.app_context():
        for n in range(EVENTS):
            record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"n": n})
        db.session.commit()  # the kick queues webhooks.dispatch on the test's Redis
    for _ in range(DELIVERY_KILLS):
        retried += _kill_mid_delivery(receiver, start_worker, redis_server.url)
    assert retried == ["cards.expire"] * EXPIRY_KILLS + ["webhooks.deliver"] * DELIVERY_KILLS

    start_worker()
    wait_for(lambda: _delivery_statuses(app) == {"delivered": EVENTS - DELIVERY_KILLS, "pending": DELIVERY_KILLS},
             timeout=60, interval=0.2)
    with rq_app.app_context():  # the killed attempts' send leases lapse; the sweep comes
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.PENDING)
                           .values(locked_until=utcnow()))
        db.session.commit()
        get_queue().enqueue("webhooks.dispatch")
    wait_for(lambda: _delivery_statuses(app) == {"delivered": EVENTS}, timeout=60, interval=0.2)
    wait_for(lambda: _expired(app) == (CARDS, CARDS), timeout=60, interval=0.2)

    journals = Counter(ref_id for (ref_id,) in _query(
        app, select(Journal.ref_id).where(Journal.kind == JournalKind.EXPIRE, Journal.ref_type == "card")))
    assert journals == Counter(card_ids), "one expire journal per card"
    assert _query(app, select(func.sum(Card.points)))[0][0] == 0
    failed = FailedJobRegistry(QUEUE_NAME, connection=redis.Redis.from_url(redis_server.url))
    assert failed.count == 0, "each abandoned job retried, none given up"
    verify = app.test_cli_runner().invoke(args=["verify-ledger"])
    assert verify.exit_code == 0 and "ledger ok" in verify.output, verify.output

    assert len(receiver.received) == EVENTS, "every event reached the receiver"
    resent = sorted(event_id for event_id, count in receiver.received.items() if count > 1)
    assert resent == sorted(receiver.held) and len(resent) == DELIVERY_KILLS
    assert max(receiver.received.values()) == 2, "only a killed attempt is sent again, and once"
    attempts = _query(app, select(WebhookAttempt.status_code))
    assert sorted(code for (code,) in attempts) == [200] * EVENTS, "one recorded attempt per delivery"
    assert {row.attempts for row in _query(app, select(WebhookDelivery.attempts))} == {1}
    print(f"\njob kill: {EXPIRY_KILLS + DELIVERY_KILLS} workers killed mid-job ({EXPIRY_KILLS} mid-expiry of "
          f"{CARDS} cards with a batch flushed: nothing half-written; {DELIVERY_KILLS} mid-delivery of {EVENTS} "
          f"events), {len(retried)} abandoned jobs retried; {CARDS} cards expired once each; "
          f"{sum(receiver.received.values())} POSTs received ({len(resent)} killed attempts sent again), "
          f"{len(attempts)} deliveries recorded once; 0 duplicates; verify-ledger clean")
