"""``flask --app wsgi worker`` on real Redis and PostgreSQL: two worker processes share the queue and
every delivery and subscribe message has one effect, although each job is queued twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import select

from server import create_app
from server.db import db, utcnow
from server.jobs.queue import RQQueue, get_queue
from server.jobs.registry import Schedule
from server.jobs.schedule import PeriodicScheduler
from server.notifications.models import OutboxMessage
from server.notifications.services import TemplateKey, queue_message
from server.webhooks.delivery import dispatch_due
from server.webhooks.events import record_event
from server.webhooks.models import WebhookDelivery
from tests import issuance_support as support
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.webhooks.support import create_webhook, start_receiver

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
COUNT = 12


@pytest.fixture
def rq_app(app_config, app):
    """The app with jobs on RQ (the suite's other apps run them in their embedded thread)."""
    return create_app({**app_config, "JOBS_BACKEND": "rq", "REDIS_CLIENT": app.extensions["kabao_redis"]})


def _run_two_workers(extra_env: dict[str, str] | None = None) -> None:
    env = {**os.environ, "DATABASE_URL": TEST_DATABASE_URL, "REDIS_URL": TEST_REDIS_URL, "SECRET_KEY": "test-secret",
           "APP_ENV": "test", "JOBS_BACKEND": "rq", **(extra_env or {})}
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output


def test_two_workers_deliver_each_webhook_once(app, rq_app, shop):
    receiver, server = start_receiver()
    receiver.delay = 0.05  # long enough for both workers to be busy at once
    try:
        with rq_app.test_client() as client:
            create_webhook(client, shop, receiver.url, events=["card.redeemed"])
        with rq_app.app_context():
            for n in range(COUNT):
                record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"n": n})
            db.session.commit()  # the kick queues webhooks.dispatch on RQ
            queue = get_queue()
            assert isinstance(queue, RQQueue)
            queue.enqueue("webhooks.dispatch")
            # hand every delivery out now as well, and queue each delivery job twice
            claimed = dispatch_due(db.session, utcnow())
            db.session.commit()
            for delivery_id, claim in claimed:
                for copy in ("a", "b"):
                    queue.enqueue("webhooks.deliver", job_id=f"d-{claim}-{copy}", delivery_id=delivery_id, claim=claim)
        assert len(claimed) == COUNT
        _run_two_workers()
        ids = [json.loads(r.body)["id"] for r in receiver.requests]
        assert len(ids) == COUNT and len(set(ids)) == COUNT  # each event once
        with app.app_context():
            assert set(db.session.scalars(select(WebhookDelivery.status))) == {"delivered"}
            assert set(db.session.scalars(select(WebhookDelivery.attempts))) == {1}
    finally:
        server.shutdown()
        server.server_close()


def _wechat_stand_in() -> tuple[list[dict], ThreadingHTTPServer]:
    """WeChat's token and subscribe-message endpoints, recording each message sent."""
    sent: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._answer({"access_token": "stand-in-token", "expires_in": 7200})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(0.05)
            with lock:
                sent.append(body)
            self._answer({"errcode": 0, "errmsg": "ok"})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return sent, server


def test_two_workers_send_each_subscribe_message_once(app, rq_app, shop):
    sent, server = _wechat_stand_in()
    try:
        consumers = [support.consumer(app, f"o-rq-{n}") for n in range(COUNT)]
        with rq_app.app_context():
            for consumer_id in consumers:
                queue_message(db.session, merchant_id=shop.merchant_id, consumer_id=consumer_id,
                              template_key=TemplateKey.TOP_UP,
                              payload={"card": "卡", "amount": "¥1.00", "bonus": "¥0.00", "balance": "¥1.00",
                                       "time": "2026年12月01日 10:00"})
            db.session.commit()  # the kick queues notifications.send on RQ
            for _ in range(4):
                get_queue().enqueue("notifications.send", limit=3)
        _run_two_workers({"WECHAT_API_BASE_URL": f"http://127.0.0.1:{server.server_port}/",
                          "WECHAT_TEMPLATE_TOP_UP": "tpl-top-up"})
        assert sorted(m["touser"] for m in sent) == sorted(f"o-rq-{n}" for n in range(COUNT))  # each once
        with app.app_context():
            rows = list(db.session.scalars(select(OutboxMessage)))
            assert {(m.status, m.attempts) for m in rows} == {("sent", 1)}
    finally:
        server.shutdown()
        server.server_close()


def test_periodic_slots_are_claimed_once_across_schedulers_on_real_redis():
    queued: list[str] = []

    class Recorder:
        def enqueue(self, name, /, job_id=None, **kwargs):
            queued.append(name)

    schedules = [Schedule("webhooks.dispatch", every=10)]
    schedulers = [PeriodicScheduler(redis_lib.Redis.from_url(TEST_REDIS_URL), Recorder(), schedules) for _ in range(3)]
    now = time.time()
    threads = [threading.Thread(target=s.tick, args=(now,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert queued == ["webhooks.dispatch"]
