"""Mini-program: a batch as the consumer sees it, and claiming a free card from it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.cards.models import Card
from server.db import db, utcnow
from server.ledger.services import verify_ledger
from server.merchants.models import Merchant
from server.products.models import CardProduct
from tests import issuance_support as support

CARD_FIELDS = {"card_id", "card_no_masked", "merchant", "product", "status", "balance_fen", "principal_fen",
               "bonus_fen", "remaining_uses", "points", "expires_at", "transferable", "face_image_url"}


@pytest.fixture
def consumer(app, issue_token):
    consumer_id = support.consumer(app)
    return consumer_id, support.consumer_headers(issue_token, consumer_id)


def _claim(client, batch_id, headers):
    return client.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=headers)


def _error(response):
    return response.status_code, response.get_json()["error"]["code"]


def test_the_batch_page_shows_price_remaining_regions_product_and_merchant(app, client, shop, consumer):
    batch_id = support.batch(app, shop.merchant_id, quantity=10, issued_count=4, price_fen=0, name="开业免费领",
                             region_codes=["310000"])
    response = client.get(f"/api/v1/mp/batches/{batch_id}", headers=consumer[1])
    assert response.status_code == 200
    page = response.get_json()
    keys = ("batch_id", "name", "price_fen", "issue_method", "remaining", "status", "region_codes")
    assert {k: page[k] for k in keys} == {
        "batch_id": batch_id, "name": "开业免费领", "price_fen": 0, "issue_method": "claim", "remaining": 6,
        "status": "active", "region_codes": ["310000"]}
    assert page["product"]["kind"] == "stored_value" and page["product"]["face_value_fen"] == 10000
    assert page["product"]["face_image_url"].endswith(".png")
    with app.app_context():
        assert page["merchant"] == {"merchant_id": shop.merchant_id,
                                    "name": db.session.get(Merchant, shop.merchant_id).name}


def test_an_unknown_batch_is_404(client, consumer):
    assert client.get("/api/v1/mp/batches/999", headers=consumer[1]).status_code == 404
    assert _claim(client, 999, consumer[1]).status_code == 404


def test_the_batch_endpoints_need_a_consumer_token(app, client, shop):
    batch_id = support.batch(app, shop.merchant_id)
    assert client.get(f"/api/v1/mp/batches/{batch_id}").status_code == 401
    assert _claim(client, batch_id, shop.headers()).status_code == 403


def test_a_claim_issues_a_card_at_once(app, client, shop, consumer):
    batch_id = support.batch(app, shop.merchant_id, quantity=10)
    response = _claim(client, batch_id, consumer[1])
    assert response.status_code == 201
    card = response.get_json()
    assert card.keys() >= CARD_FIELDS
    assert card["status"] == "active"
    assert (card["balance_fen"], card["principal_fen"], card["bonus_fen"]) == (10000, 0, 10000)
    assert (card["remaining_uses"], card["points"], card["expires_at"], card["transferable"]) == (0, 0, None, True)
    assert card["merchant"]["merchant_id"] == shop.merchant_id
    assert card["product"]["name"] and card["product"]["kind"] == "stored_value"
    assert card["face_image_url"].startswith("http://127.0.0.1:5000/api/v1/faces/")
    with app.app_context():
        row = db.session.get(Card, card["card_id"])
        assert card["card_no_masked"] == f"{row.card_no[:4]} **** **** {row.card_no[-4:]}"
        assert card["card_no_masked"].startswith("6201 **** **** ")
        assert (row.owner_id, row.batch_id) == (consumer[0], batch_id)
        assert verify_ledger(db.session) == []
    assert client.get(f"/api/v1/mp/batches/{batch_id}", headers=consumer[1]).get_json()["remaining"] == 9


def test_expiry_is_shown_in_shanghai_time(app, client, shop, consumer):
    product_id = support.product(app, shop.merchant_id, kind="count", uses=10,
                                 validity={"type": "relative", "days": 90})
    card = _claim(client, support.batch(app, shop.merchant_id, product_id), consumer[1]).get_json()
    assert card["expires_at"].endswith("+08:00")
    assert card["remaining_uses"] == 10


def test_a_sold_out_batch_refuses(app, client, shop, issue_token):
    batch_id = support.batch(app, shop.merchant_id, quantity=2)
    results = [_claim(client, batch_id, support.consumer_headers(issue_token, support.consumer(app)))
               for _ in range(3)]
    assert [r.status_code for r in results[:2]] == [201, 201]
    assert _error(results[2]) == (409, "SOLD_OUT")


def test_the_per_user_limit_holds(app, client, shop, consumer):
    batch_id = support.batch(app, shop.merchant_id, per_user_limit=2)
    assert [_claim(client, batch_id, consumer[1]).status_code for _ in range(2)] == [201, 201]
    response = _claim(client, batch_id, consumer[1])
    assert _error(response) == (409, "LIMIT_REACHED")
    assert response.get_json()["error"]["details"] == {"per_user_limit": 2}


def test_the_limit_counts_cards_received_even_after_they_were_given_away(app, client, shop, consumer):
    batch_id = support.batch(app, shop.merchant_id, per_user_limit=1)
    card_id = _claim(client, batch_id, consumer[1]).get_json()["card_id"]
    with app.app_context():
        db.session.get(Card, card_id).owner_id = support.consumer(app)
        db.session.commit()
    assert _error(_claim(client, batch_id, consumer[1])) == (409, "LIMIT_REACHED")


@pytest.mark.parametrize("fields", [
    {"status": "pending_approval"},
    {"status": "paused"},
    {"status": "closed"},
    {"issue_method": "purchase", "price_fen": 100},
    {"issue_method": "code"},
    {"sale_start": utcnow() + timedelta(hours=1)},
    {"sale_end": utcnow() - timedelta(seconds=1)},
])
def test_only_an_active_claim_batch_in_its_window_gives_cards(app, client, shop, consumer, fields):
    batch_id = support.batch(app, shop.merchant_id, **fields)
    assert _error(_claim(client, batch_id, consumer[1])) == (409, "STATE_CONFLICT")
    with app.app_context():
        assert db.session.scalar(select(Card.id)) is None


def test_a_retired_product_or_suspended_merchant_gives_no_cards(app, client, shop, consumer):
    product_id = support.product(app, shop.merchant_id)
    batch_id = support.batch(app, shop.merchant_id, product_id)
    with app.app_context():
        db.session.get(CardProduct, product_id).status = "retired"
        db.session.commit()
    assert _error(_claim(client, batch_id, consumer[1])) == (409, "STATE_CONFLICT")
    other = support.batch(app, shop.merchant_id)
    with app.app_context():
        db.session.get(Merchant, shop.merchant_id).status = "suspended"
        db.session.commit()
    assert _error(_claim(client, other, consumer[1])) == (409, "STATE_CONFLICT")


def test_an_approved_batch_sells_after_dual_approval(app, client, shop, consumer):
    batch_id = support.batch(app, shop.merchant_id, status="pending_approval")
    assert _claim(client, batch_id, consumer[1]).status_code == 409
    for role in ("operations", "finance"):
        client.post(f"/api/v1/merchant/batches/{batch_id}/approve", json={}, headers=shop.headers(role))
    assert _claim(client, batch_id, consumer[1]).status_code == 201
