"""A merchant with cards of every kind, and helpers to show their codes at the counter."""

import itertools

from server.cards.dynamic_codes import issue_code
from server.consumers.models import Consumer
from server.crypto import encrypt
from server.db import db
from server.extensions import get_redis
from tests import factories

_keys = itertools.count(1)

PRODUCTS = {
    "stored_value": {"name": "储值卡", "discount_percent": 90,
                     "regional_discounts": [{"region_code": "540102", "discount_percent": 80}]},
    "count": {"name": "洗车次卡", "uses": 10},
    "points": {"name": "积分卡", "points_rule": {"earn_per_yuan": 1, "points_per_yuan_off": 100}},
    "discount": {"name": "折扣卡", "discount_percent": 85},
}


class Counter:
    def __init__(self, app, shop):
        self.app, self.shop = app, shop
        with app.app_context():
            merchant = db.session.get(factories.Merchant, shop.merchant_id)
            self.product_ids = {kind: factories.product(db.session, merchant, kind=kind, **fields).id
                                for kind, fields in PRODUCTS.items()}
            db.session.add(Consumer(openid="o_holder_openid"))
            db.session.commit()

    def card(self, kind="stored_value", secret="246810", **balances) -> int:
        with self.app.app_context():
            product = db.session.get(factories.CardProduct, self.product_ids[kind])
            consumer_id = db.session.query(Consumer.id).scalar()
            card = factories.card(db.session, product, secret_encrypted=encrypt(self.app.config, secret),
                                  owner_id=consumer_id, **balances)
            db.session.commit()
            return card.id

    def code(self, card_id: int) -> dict:
        with self.app.app_context():
            code = issue_code(get_redis(), card_id)
        return {"qr": code.qr_payload, "numeric": code.numeric_code}

    def redeem(self, client, role="cashier", key=None, **body):
        body.setdefault("store_id", self.shop.store_id)
        headers = {**self.shop.headers(role), "Idempotency-Key": key or f"redeem-{next(_keys)}"}
        return client.post("/api/v1/merchant/redeem", json=body, headers=headers)
