"""PostgreSQL crashing (``pg_ctl stop -m immediate``) under a redemption load, then restarted: every
request is answered — 200 or 503 SERVICE_UNAVAILABLE, within seconds, never a hang or a 500 — the app
serves again once the database is back, and nothing is half-written: every acknowledged redemption is
booked exactly once, each refused one can be retried with its Idempotency-Key, the ledger verifies.

The test's own cluster (initdb under the postgres user, its own port and directory), thrown away after.
"""

from __future__ import annotations

import itertools
import threading
import time

import fakeredis
import pytest
from sqlalchemy import func, select

from server import create_app
from server.auth import Principal, PrincipalKind, issue_token
from server.cards.models import Card
from server.console.auth import STAFF
from server.crypto import encrypt
from server.db import db
from server.extensions import get_redis
from server.ledger.services import verify_ledger
from server.redemption.models import Redemption
from tests import factories
from tests.faults.services import OwnPostgres

pytestmark = pytest.mark.postgres

OPENING_FEN = 1_000_000


@pytest.fixture
def cluster():
    pg = OwnPostgres()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.cleanup()


@pytest.fixture
def own_app(app_config, cluster):
    app = create_app({**app_config, "DATABASE_URL": cluster.url, "REDIS_CLIENT": fakeredis.FakeRedis(),
                      "NOTIFICATIONS_AFTER_COMMIT": False})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def counter_setup(own_app):
    """A store, a cashier's token and a stored-value card redeemable by CARDNO:SECRET."""
    with own_app.app_context():
        merchant = factories.merchant(db.session)
        store = factories.store(db.session, merchant)
        cashier = factories.staff(db.session, merchant, "cashier", store_id=store.id)
        product = factories.product(db.session, merchant, kind="stored_value")
        card = factories.card(db.session, product, principal_fen=OPENING_FEN,
                              secret_encrypted=encrypt(own_app.config, "246810"))
        db.session.commit()
        principal = Principal(PrincipalKind.STAFF, cashier.id, merchant_id=merchant.id, role="cashier",
                              store_id=store.id)
        token = issue_token(get_redis(), principal, 600)
        session_token = issue_token(get_redis(), principal, 600)
        return {"headers": {"Authorization": f"Bearer {token}"}, "store_id": store.id, "card_id": card.id,
                "code": f"{card.card_no}:246810", "console_session": session_token}


def _redeem(client, setup, key):
    started = time.monotonic()
    response = client.post("/api/v1/merchant/redeem", json={"code": setup["code"], "store_id": setup["store_id"],
                                                              "amount_fen": 1},
                           headers={**setup["headers"], "Idempotency-Key": key})
    return key, response.status_code, response.get_json(silent=True), time.monotonic() - started


def test_postgres_crash_under_load_is_503_then_recovers_with_nothing_half_written(own_app, cluster, counter_setup):
    results, stop = [], threading.Event()
    keys = itertools.count()

    def load():
        client = own_app.test_client()
        while not stop.is_set():
            results.append(_redeem(client, counter_setup, f"load-{next(keys)}"))
            if results[-1][1] != 200:
                time.sleep(0.1)  # a till backs off before the next customer

    workers = [threading.Thread(target=load) for _ in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    before_crash = len(results)
    cluster.stop("immediate")
    time.sleep(1.0)
    browser = own_app.test_client()
    with browser.session_transaction() as cookie:
        cookie[STAFF.session_key] = counter_setup["console_session"]
    page = browser.get("/console/", headers={"Accept": "text/html"})
    time.sleep(1.0)
    during_outage = results[before_crash:]
    cluster.start()
    time.sleep(2.0)
    stop.set()
    for worker in workers:
        worker.join(30)
    assert not any(worker.is_alive() for worker in workers), "a request hung"

    statuses = {status for _, status, _, _ in results}
    assert statuses <= {200, 503}, statuses
    assert before_crash > 0 and any(status == 503 for _, status, _, _ in during_outage)
    assert all(body["error"]["code"] == "SERVICE_UNAVAILABLE" for _, status, body, _ in results if status == 503)
    assert max(seconds for *_, seconds in results) < 5, "no request waits more than a few seconds"
    assert results[-1][1] == 200, "served again after the restart, without restarting the app"
    assert page.status_code == 503 and page.mimetype == "text/html"  # the console's page, not JSON
    assert "数据库暂不可用" in page.get_data(as_text=True)

    # Cashiers retry what was refused, with the same key: each goes through once.
    client = own_app.test_client()
    refused = [key for key, status, _, _ in results if status == 503]
    retried = [_redeem(client, counter_setup, key) for key in refused]
    assert {status for _, status, _, _ in retried} == {200}

    acknowledged = [body["redemption_id"] for _, status, body, _ in results + retried if status == 200]
    with own_app.app_context():
        booked = db.session.scalars(select(Redemption.id).where(Redemption.card_id == counter_setup["card_id"]))
        booked = list(booked)
        assert sorted(booked) == sorted(acknowledged), "every acknowledged redemption exactly once, no other"
        card = db.session.get(Card, counter_setup["card_id"])
        assert card.principal_fen == OPENING_FEN - len(booked)
        assert db.session.scalar(select(func.count()).select_from(Redemption)) == len(booked)
        assert verify_ledger(db.session) == []
    print(f"\npostgres crash: {len(results)} redemptions sent, {len(refused)} answered 503 and retried, "
          f"{len(booked)} booked, ledger clean")
