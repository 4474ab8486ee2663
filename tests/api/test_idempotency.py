"""Idempotency-Key on money-moving endpoints: replay, conflict, and concurrent duplicates."""

import threading

import pytest
from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db
from server.ledger.models import Journal
from tests import factories


@pytest.fixture
def card_and_headers(probe_app, issue_token):
    with probe_app.app_context():
        merchant = factories.merchant(db.session)
        card = factories.card(db.session, factories.product(db.session, merchant))
        db.session.commit()
        ids = card.id, merchant.id
    headers = issue_token(probe_app, kind="staff", id=11, merchant_id=ids[1], role="owner")
    return ids[0], headers


def _principal(probe_app, card_id):
    with probe_app.app_context():
        return db.session.get(Card, card_id).principal_fen


def test_key_is_required(probe_client, card_and_headers):
    card_id, headers = card_and_headers
    response = probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100}, headers=headers)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "中文"])
def test_malformed_keys_are_refused(probe_client, card_and_headers, key):
    card_id, headers = card_and_headers
    response = probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100},
                                 headers={**headers, "Idempotency-Key": key})
    assert response.status_code == 400


def test_replay_returns_the_original_status_and_body_and_credits_once(probe_client, probe_app, card_and_headers):
    card_id, headers = card_and_headers
    headers = {**headers, "Idempotency-Key": "top-up-1"}
    first = probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100}, headers=headers)
    # Same body with other key order and spacing is the same request.
    again = probe_client.post("/probe/credit", data=f'{{ "amount_fen": 100, "card_id": {card_id} }}',
                              content_type="application/json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _principal(probe_app, card_id) == 100


def test_same_key_with_a_different_body_is_a_conflict(probe_client, probe_app, card_and_headers):
    card_id, headers = card_and_headers
    headers = {**headers, "Idempotency-Key": "top-up-2"}
    assert probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100},
                             headers=headers).status_code == 201
    response = probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 999}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert _principal(probe_app, card_id) == 100


def test_keys_belong_to_their_principal(probe_client, probe_app, card_and_headers, issue_token):
    card_id, headers = card_and_headers
    with probe_app.app_context():
        merchant_id = db.session.get(Card, card_id).merchant_id
    colleague = issue_token(probe_app, kind="staff", id=12, merchant_id=merchant_id, role="owner")
    for who in (headers, colleague):
        response = probe_client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100},
                                     headers={**who, "Idempotency-Key": "shared-key"})
        assert response.status_code == 201
    assert _principal(probe_app, card_id) == 200


def test_a_failed_request_does_not_burn_the_key(probe_client, probe_app, card_and_headers):
    card_id, headers = card_and_headers
    headers = {**headers, "Idempotency-Key": "retry-me"}
    missing = probe_client.post("/probe/credit", json={"card_id": card_id + 1000, "amount_fen": 100},
                                headers=headers)
    assert missing.status_code == 404
    retried = probe_client.post("/probe/credit", json={"card_id": card_id + 1000, "amount_fen": 100},
                                headers=headers)
    assert retried.status_code == 404


def test_concurrent_duplicates_take_effect_once(probe_app, card_and_headers):
    workers = 10
    card_id, headers = card_and_headers
    headers = {**headers, "Idempotency-Key": "double-tap"}
    barrier = threading.Barrier(workers)
    responses = []
    lock = threading.Lock()

    def send():
        client = probe_app.test_client()
        barrier.wait()
        response = client.post("/probe/credit", json={"card_id": card_id, "amount_fen": 100}, headers=headers)
        with lock:
            responses.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {status for status, _ in responses} == {201}
    assert len({body["journal_id"] for _, body in responses}) == 1
    assert _principal(probe_app, card_id) == 100
    with probe_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Journal)) == 1  # one credit, however many duplicates
