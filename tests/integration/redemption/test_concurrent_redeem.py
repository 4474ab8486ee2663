"""Concurrent scans on PostgreSQL: one code redeems once; one card never goes below zero."""

import threading

import pytest

from server.cards.models import Card
from server.db import db
from server.ledger.services import verify_ledger

pytestmark = pytest.mark.postgres


def _race(app, counter, bodies):
    barrier = threading.Barrier(len(bodies))
    results = []
    lock = threading.Lock()

    def attempt(body):
        client = app.test_client()
        barrier.wait()
        response = counter.redeem(client, **body)
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=attempt, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_scans_of_one_code_redeem_once(app, counter):
    card_id = counter.card(principal_fen=100000)
    code = counter.code(card_id)["qr"]
    results = _race(app, counter, [{"code": code, "amount_fen": 1000}] * 20)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, results
    assert {body["error"]["code"] for status, body in results if status != 200} == {"CODE_INVALID"}
    with app.app_context():
        assert db.session.get(Card, card_id).balance_fen == 100000 - 900
        assert verify_ledger(db.session) == []


def test_forty_redemptions_against_one_card_take_exactly_the_affordable_number(app, counter):
    card_id = counter.card(principal_fen=9000)  # 10 × 900 (a 1000 bill at 90%)
    # Each dynamic code replaces the last, so concurrent cashiers here present the card number and secret.
    with app.app_context():
        card_no = db.session.get(Card, card_id).card_no
    bodies = [{"code": f"{card_no}:246810", "amount_fen": 1000}] * 40
    results = _race(app, counter, bodies)
    assert sum(1 for status, _ in results if status == 200) == 10
    assert {body["error"]["code"] for status, body in results if status != 200} == {"INSUFFICIENT_BALANCE"}
    with app.app_context():
        assert db.session.get(Card, card_id).balance_fen == 0
        assert verify_ledger(db.session) == []
