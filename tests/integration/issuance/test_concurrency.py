"""Stock, per-user limits and code binding under real concurrency (PostgreSQL; SQLite ignores FOR UPDATE).

Each thread is its own client with its own app context, session and connection, released together
by a barrier, so the database alone decides who wins.
"""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db
from server.issuance.models import Batch, BatchApproval, RedemptionCode
from server.ledger.services import verify_ledger
from tests import issuance_support as support

pytestmark = pytest.mark.postgres


def _race(app, requests) -> Counter:
    """Fire ``requests`` (callables taking a test client) at once; count the answers' status / error code."""
    barrier = threading.Barrier(len(requests))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(request) -> None:
        client = app.test_client()
        barrier.wait()
        response = request(client)
        body = response.get_json()
        outcome = "ok" if response.status_code < 300 else body["error"]["code"]
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _cards(app, batch_id: int) -> list[Card]:
    with app.app_context():
        cards = db.session.scalars(select(Card).where(Card.batch_id == batch_id)).all()
        db.session.expunge_all()
        return cards


def test_fifty_claims_on_a_batch_of_ten_issue_exactly_ten(app, shop, issue_token):
    batch_id = support.batch(app, shop.merchant_id, quantity=10)
    headers = [support.consumer_headers(issue_token, support.consumer(app)) for _ in range(50)]
    outcomes = _race(app, [lambda c, h=h: c.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=h)
                           for h in headers])
    assert outcomes == {"ok": 10, "SOLD_OUT": 40}
    assert len(_cards(app, batch_id)) == 10
    with app.app_context():
        assert db.session.get(Batch, batch_id).issued_count == 10
        assert verify_ledger(db.session) == []


def test_one_consumer_racing_five_claims_against_a_limit_of_one_gets_one_card(app, shop, issue_token):
    batch_id = support.batch(app, shop.merchant_id, quantity=100, per_user_limit=1)
    consumer_id = support.consumer(app)
    headers = support.consumer_headers(issue_token, consumer_id)
    outcomes = _race(app, [lambda c: c.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=headers)] * 5)
    assert outcomes == {"ok": 1, "LIMIT_REACHED": 4}
    assert [card.owner_id for card in _cards(app, batch_id)] == [consumer_id]
    with app.app_context():
        assert db.session.get(Batch, batch_id).issued_count == 1


def test_ten_concurrent_binds_of_one_code_issue_one_card(app, client, shop, issue_token):
    batch_id = support.batch(app, shop.merchant_id, issue_method="code", quantity=10)
    response = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 1}, headers=shop.headers())
    code = response.get_data(as_text=True).splitlines()[1]
    headers = [support.consumer_headers(issue_token, support.consumer(app)) for _ in range(10)]
    outcomes = _race(app, [lambda c, h=h: c.post("/api/v1/mp/cards/bind", json={"code": code}, headers=h)
                           for h in headers])
    assert outcomes == {"ok": 1, "CODE_INVALID": 9}
    cards = _cards(app, batch_id)
    assert len(cards) == 1
    with app.app_context():
        row = db.session.scalar(select(RedemptionCode))
        assert (row.status, row.card_id) == ("bound", cards[0].id)
        assert db.session.get(Batch, batch_id).issued_count == 1


def test_one_consumer_binding_one_code_ten_times_at_once_gets_one_card(app, client, shop, issue_token):
    """The same consumer racing: the losers count as failures, so some may already see 429."""
    batch_id = support.batch(app, shop.merchant_id, issue_method="code", quantity=10)
    response = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 1}, headers=shop.headers())
    code = response.get_data(as_text=True).splitlines()[1]
    headers = support.consumer_headers(issue_token, support.consumer(app))
    outcomes = _race(app, [lambda c: c.post("/api/v1/mp/cards/bind", json={"code": code}, headers=headers)] * 10)
    assert outcomes["ok"] == 1
    assert outcomes["CODE_INVALID"] + outcomes["RATE_LIMITED"] == 9
    assert len(_cards(app, batch_id)) == 1


def test_two_approvals_per_role_at_once_give_exactly_one_of_each(app, shop):
    batch_id = support.batch(app, shop.merchant_id, status="pending_approval")
    outcomes = _race(app, [
        lambda c, role=role: c.post(f"/api/v1/merchant/batches/{batch_id}/approve", json={},
                                    headers=shop.headers(role))
        for role in ("operations", "finance", "operations", "finance")
    ])
    assert outcomes == {"ok": 2, "STATE_CONFLICT": 2}
    with app.app_context():
        assert db.session.get(Batch, batch_id).status == "active"
        assert db.session.scalar(select(func.count()).select_from(BatchApproval)) == 2
