"""Concurrent open API calls on PostgreSQL: one external order number books once, whoever races."""

import threading

import pytest
from sqlalchemy import func, select

from server.db import db
from server.ledger.services import verify_ledger
from server.open.models import ExternalRedemption, ExternalTopUp
from tests.open_support import open_api, other_merchant  # noqa: F401

pytestmark = pytest.mark.postgres


def _race(app, calls):
    """Run the calls at the same moment, each on its own client (and so its own connection)."""
    barrier = threading.Barrier(len(calls))
    results, lock = [], threading.Lock()

    def attempt(call):
        client = app.test_client()
        barrier.wait()
        response = call(client)
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=attempt, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _post(open_api, path, body, n):  # noqa: F811
    headers = [open_api.headers() for _ in range(n)]  # another Idempotency-Key each
    return [lambda client, h=h: client.post(f"/open/v1{path}", json=body, headers=h) for h in headers]


def test_concurrent_top_ups_with_one_order_number_credit_once(app, open_api):  # noqa: F811
    card = open_api.card()
    results = _race(app, _post(open_api, f"/cards/{card['card_no']}/top-ups",
                               {"amount_fen": 10000, "external_order_no": "ERP-RACE"}, 6))
    won = [body for status, body in results if status == 201]
    assert len(won) == 1, results
    lost = [body for status, body in results if status != 201]
    assert {(body["error"]["code"], body["error"]["details"]["top_up_id"]) for body in lost} == {
        ("DUPLICATE_EXTERNAL_ORDER", won[0]["top_up_id"])}
    assert open_api.get(f"/cards/{card['card_no']}").get_json()["principal_fen"] == 10000
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExternalTopUp)) == 1
        assert verify_ledger(db.session) == []


def test_concurrent_redemptions_with_one_order_number_redeem_once(app, open_api):  # noqa: F811
    card = open_api.card()
    results = _race(app, _post(open_api, "/redemptions",
                               {"card_no": card["card_no"], "store_id": open_api.shop.store_id, "amount_fen": 1000,
                                "external_order_no": "SHOP-RACE"}, 6))
    won = [body for status, body in results if status == 200]
    assert len(won) == 1, results
    assert {body["error"]["code"] for status, body in results if status != 200} == {"DUPLICATE_EXTERNAL_ORDER"}
    assert open_api.get(f"/cards/{card['card_no']}").get_json()["balance_fen"] == 10000 - 1000
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExternalRedemption)) == 1
        assert verify_ledger(db.session) == []


def test_concurrent_issues_to_one_member_keep_the_per_user_limit(app, open_api):  # noqa: F811
    batch_id = open_api.batch(per_user_limit=2, quantity=100)
    results = _race(app, _post(open_api, "/cards", {"batch_id": batch_id, "member": {"external_id": "M-RACE"}}, 6))
    assert sorted(status for status, _ in results) == [201, 201, 409, 409, 409, 409], results
    assert {body["error"]["code"] for status, body in results if status == 409} == {"LIMIT_REACHED"}
