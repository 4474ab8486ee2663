"""`kill -9` of gunicorn workers in the middle of a redemption load: every acknowledged redemption is
booked exactly once, a till that lost its answer retries with the same Idempotency-Key and gets the
one redemption, and `flask verify-ledger` finds nothing wrong. The access log masks tokens and names
each request's id.

gunicorn runs `wsgi:app` from the repository (as deployed) on the suite's PostgreSQL database and the
test's own Redis, which its workers share for tokens.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import redis
import requests
from sqlalchemy import select

from server.auth import Principal, PrincipalKind, issue_token
from server.cards.models import Card
from server.crypto import encrypt
from server.db import db
from server.redemption.models import Redemption
from tests import factories
from tests.faults.services import ROOT, OwnGunicorn, wait_for

pytestmark = pytest.mark.postgres

OPENING_FEN = 1_000_000
KILLS = 3


@pytest.fixture
def server_env(app, app_config, redis_server):
    return {"DATABASE_URL": app_config["DATABASE_URL"], "REDIS_URL": redis_server.url, "APP_ENV": "test",
            "SECRET_KEY": app_config["SECRET_KEY"], "NOTIFICATIONS_AFTER_COMMIT": "0"}


@pytest.fixture
def gunicorn(server_env):
    server = OwnGunicorn(server_env, workers=2)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def till(app, redis_server):
    with app.app_context():
        merchant = factories.merchant(db.session)
        store = factories.store(db.session, merchant)
        cashier = factories.staff(db.session, merchant, "cashier", store_id=store.id)
        product = factories.product(db.session, merchant, kind="stored_value")
        card = factories.card(db.session, product, principal_fen=OPENING_FEN,
                              secret_encrypted=encrypt(app.config, "246810"))
        db.session.commit()
        principal = Principal(PrincipalKind.STAFF, cashier.id, merchant_id=merchant.id, role="cashier",
                              store_id=store.id)
        token = issue_token(redis.Redis.from_url(redis_server.url), principal, 600)
        return {"headers": {"Authorization": f"Bearer {token}"}, "store_id": store.id, "card_id": card.id,
                "code": f"{card.card_no}:246810"}


CUT = []  # requests whose connection died with their worker


def _redeem(base_url, till, key):
    """One redemption, retried with the same key until the server answers it (as the cashier app does)."""
    for _attempt in range(50):
        try:
            response = requests.post(f"{base_url}/api/v1/merchant/redeem", timeout=10,
                                     json={"code": till["code"], "store_id": till["store_id"], "amount_fen": 1},
                                     headers={**till["headers"], "Idempotency-Key": key})
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout):
            # The worker died with the request, or in the middle of its answer, or the answer is late on a
            # busy machine: no answer, try again.
            CUT.append(key)
            time.sleep(0.05)
            continue
        if response.status_code == 409 and response.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT":
            time.sleep(0.05)  # the twin is still in flight (or died uncommitted): ask again
            continue
        return response
    raise AssertionError(f"{key}: no answer after 50 attempts")


def test_kill_9_of_workers_under_load_loses_and_doubles_nothing(app, app_config, server_env, gunicorn, till):
    answers, stop = {}, threading.Event()
    keys = itertools.count()

    def load():
        while not stop.is_set():
            key = f"till-{next(keys)}"
            response = _redeem(gunicorn.base_url, till, key)
            answers[key] = (response.status_code, response.json(), response.headers.get("Idempotent-Replayed"))

    clients = [threading.Thread(target=load) for _ in range(4)]
    for client in clients:
        client.start()
    killed = []
    for _ in range(KILLS):  # each kill once redemptions are flowing again, so it lands mid-request
        target = len(answers) + 15
        wait_for(lambda target=target: len(answers) >= target, timeout=60)
        victim = gunicorn.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    target = len(answers) + 15
    wait_for(lambda: len(answers) >= target, timeout=60)
    stop.set()
    for client in clients:
        client.join(60)
    assert not any(client.is_alive() for client in clients)

    statuses = {status for status, _, _ in answers.values()}
    assert statuses == {200}, statuses
    acknowledged = sorted(body["redemption_id"] for _, body, _ in answers.values())
    assert len(set(acknowledged)) == len(acknowledged) == len(answers)
    with app.app_context():
        booked = sorted(db.session.scalars(select(Redemption.id).where(Redemption.card_id == till["card_id"])))
        assert booked == acknowledged, "every acknowledged redemption exactly once, and no other"
        assert db.session.get(Card, till["card_id"]).principal_fen == OPENING_FEN - len(booked)

    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "verify-ledger"], cwd=ROOT,
                            env={**os.environ, **server_env}, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert "ledger ok" in verify.stdout
    replays = sum(1 for *_, replayed in answers.values() if replayed)
    print(f"\nkill -9: {len(killed)} workers killed, {len(answers)} redemptions acknowledged "
          f"({len(CUT)} requests cut by a kill and retried, {replays} answered by replay), {len(booked)} booked, "
          "verify-ledger clean")


def test_the_access_log_masks_tokens_and_names_the_request(gunicorn):
    qr = requests.get(f"{gunicorn.base_url}/api/v1/mp/qr/SECRETQRTOKEN123.png", timeout=10)
    transfer = requests.post(f"{gunicorn.base_url}/api/v1/mp/transfers/SECRETTRANSFER456/accept", timeout=10)
    assert qr.status_code == 404 and transfer.status_code == 401
    time.sleep(0.5)
    log = gunicorn.output()
    assert "SECRETQRTOKEN123" not in log and "SECRETTRANSFER456" not in log
    assert "/api/v1/mp/qr/***.png" in log and "/api/v1/mp/transfers/***/accept" in log
    assert f"request_id={qr.headers['X-Request-Id']}" in log


def test_behind_gunicorn_a_chunked_body_over_the_limit_is_413_with_the_envelope(gunicorn):
    def chunks():
        for _ in range(64):
            yield b"x" * 32768  # 2 MB without a Content-Length

    response = requests.post(f"{gunicorn.base_url}/api/v1/platform/login", data=chunks(), timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = requests.post(f"{gunicorn.base_url}/api/v1/platform/login", timeout=10,
                          data=iter([b'{"username": "nobody", ', b'"password": "wrong-pass"}']),
                          headers={"Content-Type": "application/json"})
    assert small.status_code == 401  # a chunked body within the limit is read whole
