"""Merchant B can reach none of merchant A's data: every merchant endpoint answers 404 (or the one
uniform CODE_INVALID for codes), and lists never show A's rows."""

import pytest

from server.auth import Principal, PrincipalKind, issue_token
from server.cards.models import Card
from server.db import db
from server.extensions import get_redis
from tests import factories, issuance_support


@pytest.fixture
def a_and_b(app, counter, client):
    """Merchant A (the counter's shop) with a card, a redemption, a batch; merchant B's owner token."""
    card_id = counter.card(principal_fen=5000)
    redemption_id = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100).get_json()["redemption_id"]
    batch_id = issuance_support.batch(app, counter.shop.merchant_id, counter.product_ids["stored_value"],
                                      issue_method="code")
    with app.app_context():
        other = factories.merchant(db.session)
        owner = factories.staff(db.session, other, "owner")
        db.session.commit()
        token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, owner.id, merchant_id=other.id, role="owner"),
                            600)
        other_id = other.id
        card_no = db.session.get(Card, card_id).card_no
    return {"card_id": card_id, "card_no": card_no, "redemption_id": redemption_id, "batch_id": batch_id,
            "product_id": counter.product_ids["stored_value"], "store_id": counter.shop.store_id,
            "headers": {"Authorization": f"Bearer {token}"}, "other_merchant_id": other_id}


def test_every_endpoint_with_an_id_of_merchant_a_is_not_found_for_merchant_b(client, a_and_b, counter):
    a, headers = a_and_b, a_and_b["headers"]
    keyed = {**headers, "Idempotency-Key": "tenant-probe"}
    calls = [
        ("GET", f"/api/v1/merchant/card-products/{a['product_id']}", None),
        ("PATCH", f"/api/v1/merchant/card-products/{a['product_id']}", {"name": "x"}),
        ("POST", f"/api/v1/merchant/card-products/{a['product_id']}/submit", None),
        ("POST", f"/api/v1/merchant/card-products/{a['product_id']}/publish", None),
        ("POST", f"/api/v1/merchant/card-products/{a['product_id']}/retire", None),
        ("GET", f"/api/v1/merchant/batches/{a['batch_id']}", None),
        ("POST", f"/api/v1/merchant/batches/{a['batch_id']}/approve", {}),
        ("POST", f"/api/v1/merchant/batches/{a['batch_id']}/codes", {"count": 1}),
        ("POST", f"/api/v1/merchant/batches/{a['batch_id']}/codes/void", {"all_unused": True}),
        ("GET", f"/api/v1/merchant/cards/{a['card_no']}", None),
        ("POST", f"/api/v1/merchant/cards/{a['card_no']}/reactivate", None),
        ("POST", f"/api/v1/merchant/redemptions/{a['redemption_id']}/reverse", {"reason": "x"}),
        ("POST", "/api/v1/merchant/batches", {"product_id": a["product_id"], "channel_id": 1, "name": "x",
                                              "quantity": 1, "price_fen": 0, "issue_method": "claim"}),
        ("POST", "/api/v1/merchant/staff", {"username": "intruder", "password": "password-123", "role": "cashier",
                                            "store_id": a["store_id"]}),
        ("GET", f"/api/v1/merchant/reports/summary?store_id={a['store_id']}", None),
    ]
    for method, path, body in calls:
        response = client.open(path, method=method, json=body, headers=keyed)
        assert response.status_code == 404, (method, path, response.status_code, response.get_json())


def test_merchant_b_sees_none_of_a_in_lists_and_cannot_redeem_a_card(client, a_and_b, counter, app):
    headers = a_and_b["headers"]
    for path in ["/api/v1/merchant/card-products", "/api/v1/merchant/batches", "/api/v1/merchant/channels",
                 "/api/v1/merchant/stores", "/api/v1/merchant/staff", "/api/v1/merchant/redemptions"]:
        items = client.get(path, headers=headers).get_json()["items"]
        # B's own owner is B's only row anywhere; nothing of A's shows.
        assert all(item.get("merchant_id") not in (None, counter.shop.merchant_id) for item in items), path
    report = client.get("/api/v1/merchant/reports/summary", headers=headers).get_json()
    assert report["redeemed_fen"] == 0 and report["outstanding_principal_fen"] == 0
    with app.app_context():
        store = factories.store(db.session, db.session.get(factories.Merchant, a_and_b["other_merchant_id"]))
        db.session.commit()
        store_id = store.id
    response = client.post("/api/v1/merchant/redeem", headers={**headers, "Idempotency-Key": "x-redeem"},
                           json={"code": counter.code(a_and_b["card_id"])["qr"], "store_id": store_id,
                                 "amount_fen": 100})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "CODE_INVALID"
