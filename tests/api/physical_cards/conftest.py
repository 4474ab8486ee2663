"""A physical batch of a named 100-yuan stored-value card sold for 80 yuan, approved, and its printed cards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from flask import current_app
from sqlalchemy import select

from server.cards.models import Card
from server.crypto import decrypt
from server.db import db
from tests import issuance_support as support

PRICE_FEN = 8000


@dataclass
class Printed:
    batch_id: int
    product_id: int
    #: (card_no, secret) of every card of the batch, in id order.
    cards: list[tuple[str, str]]


def create_physical_batch(app, client, shop, *, quantity: int = 4, price_fen: int = PRICE_FEN,
                          approve: bool = True, **product_fields) -> Printed:
    product_id = support.product(app, shop.merchant_id, **{"form": "physical", "named": True, **product_fields})
    channel_id = support.channel(app, shop.merchant_id, kind="offline")
    response = client.post("/api/v1/merchant/batches", headers=shop.headers(), json={
        "product_id": product_id, "channel_id": channel_id, "name": "实体卡第一批", "quantity": quantity,
        "price_fen": price_fen, "issue_method": "physical"})
    assert response.status_code == 201, response.get_json()
    batch_id = response.get_json()["batch_id"]
    if approve:
        for role in ("operations", "finance"):
            answer = client.post(f"/api/v1/merchant/batches/{batch_id}/approve", json={}, headers=shop.headers(role))
            assert answer.status_code == 200, answer.get_json()
    return Printed(batch_id, product_id, printed_cards(app, batch_id))


def printed_cards(app, batch_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Card).where(Card.batch_id == batch_id).order_by(Card.id)).all()
        return [(row.card_no, decrypt(current_app.config, row.secret_encrypted)) for row in rows]


@pytest.fixture
def printed(app, client, shop) -> Printed:
    return create_physical_batch(app, client, shop)


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def activate(client, shop, card_no: str, *, paid_fen: int = PRICE_FEN, role: str = "cashier", headers=None):
    return client.post(f"/api/v1/merchant/cards/{card_no}/activate", json={"store_id": shop.store_id,
                                                                          "paid_fen": paid_fen},
                       headers={**shop.headers(role), **(headers if headers is not None else key())})


def redeem(client, shop, card_no: str, secret: str, amount_fen: int = 1000):
    return client.post("/api/v1/merchant/redeem", json={"code": f"{card_no}:{secret}", "store_id": shop.store_id,
                                                        "amount_fen": amount_fen},
                       headers={**shop.headers("cashier"), **key()})


def error(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]
