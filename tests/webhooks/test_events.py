"""Each change records its event in its own transaction, from the domain service where it happens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.cards.expiry import expire_cards
from server.consumers.models import Consumer
from server.db import db, utcnow
from server.payments import effects
from server.payments.card_refunds import refund_card
from server.payments.models import OrderPurpose, OrderStatus, PaymentOrder
from server.products.models import CardProduct
from server.webhooks.events import EVENT_TYPES
from server.webhooks.models import WebhookDelivery, WebhookEvent
from server.wechat import PayConfigurationError
from server.wechat.adapters import get_payment_gateway
from tests import factories
from tests import issuance_support as support
from tests.conftest import admin_headers
from tests.webhooks.support import create_webhook


@pytest.fixture
def subscribed(app, client, shop, manual_dispatch):
    """An endpoint of ``shop`` for every event; returns a function listing the events recorded so far."""
    create_webhook(client, shop, "https://erp.example.com/hooks", events=list(EVENT_TYPES))

    def events() -> list[WebhookEvent]:
        with app.app_context():
            rows = list(db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))
            assert db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.status != "pending")) is None
            db.session.expunge_all()
            return rows

    return events


def _types(events) -> list[str]:
    return [event.type for event in events]


def test_a_claim_records_card_issued(app, client, shop, subscribed, issue_token):
    batch_id = support.batch(app, shop.merchant_id)
    consumer_id = support.consumer(app)
    response = client.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=issue_token(kind="consumer", id=consumer_id))
    assert response.status_code == 201
    [event] = subscribed()
    assert event.type == "card.issued" and event.data["card"]["card_id"] == response.get_json()["card_id"]
    assert event.data["card"]["owner"]["consumer_id"] == consumer_id and event.data["card"]["card_no"]


def test_a_refused_claim_records_nothing(app, client, shop, subscribed, issue_token):
    batch_id = support.batch(app, shop.merchant_id, quantity=1)
    first, second = support.consumer(app), support.consumer(app)
    assert client.post(f"/api/v1/mp/batches/{batch_id}/claim",
                       headers=issue_token(kind="consumer", id=first)).status_code == 201
    sold_out = client.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=issue_token(kind="consumer", id=second))
    assert sold_out.status_code == 409
    assert _types(subscribed()) == ["card.issued"]


def test_binding_a_code_records_card_issued_and_card_bound(app, client, shop, subscribed, issue_token):
    batch_id = support.batch(app, shop.merchant_id, issue_method="code")
    csv = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 1}, headers=shop.headers())
    code = csv.get_data(as_text=True).splitlines()[1]
    bound = client.post("/api/v1/mp/cards/bind", json={"code": code},
                        headers=issue_token(kind="consumer", id=support.consumer(app)))
    assert bound.status_code == 201, bound.get_json()
    assert _types(subscribed()) == ["card.issued", "card.bound"]


def test_redeem_and_reverse_record_their_receipts(client, shop, counter, subscribed):
    card_id = counter.card(principal_fen=5000)
    receipt = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=1000).get_json()
    reversed_ = client.post(f"/api/v1/merchant/redemptions/{receipt['redemption_id']}/reverse",
                            json={"reason": "输错金额"}, headers={**shop.headers("manager"), "Idempotency-Key": "r1"})
    assert reversed_.status_code == 200
    redeemed, reversal = subscribed()
    assert (redeemed.type, reversal.type) == ("card.redeemed", "redemption.reversed")
    assert redeemed.data["receipt"]["redemption_id"] == receipt["redemption_id"]
    assert redeemed.data["card"]["balance_fen"] == receipt["balance_fen"]
    assert reversal.data["receipt"]["status"] == "reversed" and reversal.data["card"]["balance_fen"] == 5000


def test_transfer_records_card_transferred(app, client, counter, subscribed, issue_token):
    card_id = counter.card(principal_fen=3000)
    with app.app_context():
        holder = db.session.scalar(select(Consumer.id).where(Consumer.openid == "o_holder_openid"))
    token = client.post(f"/api/v1/mp/cards/{card_id}/transfers",
                        headers=issue_token(kind="consumer", id=holder)).get_json()["transfer_token"]
    taker = support.consumer(app)
    assert client.post(f"/api/v1/mp/transfers/{token}/accept",
                       headers=issue_token(kind="consumer", id=taker)).status_code == 200
    [event] = subscribed()
    assert event.type == "card.transferred"
    assert event.data["transfer"] == {"from_consumer_id": holder, "to_consumer_id": taker}
    assert event.data["card"]["owner"]["consumer_id"] == taker


def test_a_paid_top_up_records_card_topped_up(app, shop, counter, subscribed):
    card_id = counter.card(principal_fen=1000)
    with app.app_context():
        consumer_id = db.session.scalar(select(Consumer.id))
        order = PaymentOrder(merchant_id=shop.merchant_id, consumer_id=consumer_id, card_id=card_id,
                             purpose=OrderPurpose.TOP_UP, out_trade_no="T20261201000001", amount_fen=30000,
                             bonus_fen=3000, status=OrderStatus.PAID, paid_at=utcnow(),
                             expires_at=utcnow() + timedelta(minutes=30))
        db.session.add(order)
        db.session.flush()
        effects.run(db.session, get_payment_gateway(), app.config, order)
        db.session.commit()
    [event] = subscribed()
    assert event.type == "card.topped_up"
    assert event.data["top_up"]["amount_fen"] == 30000 and event.data["top_up"]["bonus_fen"] == 3000
    assert event.data["card"]["balance_fen"] == 34000


class _RefusingGateway:
    refund_notify_url = "http://127.0.0.1:5000/api/v1/wechat/refund/notify"

    def refund(self, **_: object) -> None:
        raise PayConfigurationError("no certificate in tests")


def test_a_refund_records_card_refunded(app, shop, counter, subscribed):
    card_id = counter.card(principal_fen=2000)
    with app.app_context():
        db.session.get(CardProduct, counter.product_ids["stored_value"]).refund_rule = {"allowed": True}
        consumer_id = db.session.scalar(select(Consumer.id))
        db.session.add(PaymentOrder(merchant_id=shop.merchant_id, consumer_id=consumer_id, card_id=card_id,
                                    purpose=OrderPurpose.PURCHASE, out_trade_no="P20261201000001", amount_fen=2000,
                                    status=OrderStatus.PAID, paid_at=utcnow(),
                                    expires_at=utcnow() + timedelta(minutes=30)))
        db.session.flush()
        refund = refund_card(db.session, _RefusingGateway(), consumer_id=consumer_id, card_id=card_id,
                             reason="不想要了", now=utcnow())
        db.session.commit()
        refund_no = refund.refund_no
    [event] = subscribed()
    assert event.type == "card.refunded" and event.data["refund"]["refund_no"] == refund_no
    assert event.data["card"]["status"] == "refunded"


def test_expiry_records_card_expired(app, shop, subscribed):
    with app.app_context():
        product = factories.product(db.session, db.session.get(factories.Merchant, shop.merchant_id))
        factories.card(db.session, product, expires_at=utcnow() - timedelta(hours=1))
        factories.card(db.session, product, expires_at=utcnow() + timedelta(days=1))
        db.session.commit()
        assert expire_cards(db.session, utcnow()).cards_expired == 1
        db.session.commit()
    [event] = subscribed()
    assert event.type == "card.expired" and event.data["card"]["status"] == "expired"


def test_the_second_approval_records_batch_approved(app, client, shop, subscribed):
    batch_id = support.batch(app, shop.merchant_id, status="pending_approval", issue_method="purchase",
                             price_fen=10000)
    for role in ("operations", "finance"):
        assert client.post(f"/api/v1/merchant/batches/{batch_id}/approve", json={},
                           headers=shop.headers(role)).status_code == 200
    [event] = subscribed()
    assert event.type == "batch.approved"
    assert event.data["batch"]["batch_id"] == batch_id and event.data["batch"]["status"] == "active"


def test_a_platform_review_records_product_reviewed(app, client, shop, subscribed):
    with app.app_context():
        merchant = db.session.get(factories.Merchant, shop.merchant_id)
        product_id = factories.product(db.session, merchant, status="pending_review").id
        db.session.commit()
    response = client.post(f"/api/v1/platform/card-products/{product_id}/review", headers=admin_headers(app),
                           json={"decision": "reject", "comment": "条款不完整"})
    assert response.status_code == 200
    [event] = subscribed()
    assert event.type == "product.reviewed" and event.data["decision"] == "reject"
    assert event.data["product"]["product_id"] == product_id
    assert event.data["product"]["review_comment"] == "条款不完整"
