"""The open API's test support: ``open_api`` makes keys through the owner's API and calls /open/v1/ with them."""

from __future__ import annotations

import itertools

import pytest

from server.db import db
from server.merchants.models import Merchant, Staff
from tests import factories
from tests import issuance_support as support

ALL_SCOPES = ["cards:read", "cards:write", "redeem", "reports:read"]
#: A stored-value product of 100 yuan face value, unnamed (cap 1,000 yuan), with tiers 充300送50 and 充100,
#: and custom amounts from 1 to 1,000 yuan (a custom amount earns the bonus of the highest tier it reaches).
TOP_UP_PRODUCT = {"named": False, "top_up": {"enabled": True, "allow_custom": True, "min_fen": 100, "max_fen": 100000,
                                             "tiers": [{"amount_fen": 10000, "bonus_fen": 0},
                                                       {"amount_fen": 30000, "bonus_fen": 5000}]}}
_keys = itertools.count(1)


def error_of(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error"]["code"] == code, body
    return body["error"]


class OpenApi:
    """One approved merchant (``shop``) calling its open API."""

    def __init__(self, app, client, shop) -> None:
        self.app, self.client, self.shop = app, client, shop
        self.product_id = support.product(app, shop.merchant_id, **TOP_UP_PRODUCT)
        self._default_key: str | None = None

    # keys

    def create_key(self, scopes=None, mode="live", headers=None):
        return self.client.post("/api/v1/merchant/api-keys", headers=headers or self.shop.headers("owner"),
                                json={"name": "ERP", "scopes": scopes or ALL_SCOPES, "mode": mode})

    def key(self, scopes=None, mode="live") -> str:
        response = self.create_key(scopes, mode)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["key"]

    @property
    def default_key(self) -> str:
        if self._default_key is None:
            self._default_key = self.key()
        return self._default_key

    def headers(self, key: str | None = None, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key or self.default_key}"}
        headers["Idempotency-Key"] = idempotency_key or f"idem-{next(_keys)}"
        return headers

    # calls

    def get(self, path, key=None, **kwargs):
        return self.client.get(f"/open/v1{path}", headers=self.headers(key), **kwargs)

    def post(self, path, body, key=None, idempotency_key=None):
        return self.client.post(f"/open/v1{path}", json=body, headers=self.headers(key, idempotency_key))

    # data

    def batch(self, merchant_id=None, **fields) -> int:
        merchant_id = merchant_id or self.shop.merchant_id
        product_id = self.product_id if merchant_id == self.shop.merchant_id else None
        return support.batch(self.app, merchant_id, product_id, **fields)

    def issue(self, batch_id, external_id="M001", key=None, idempotency_key=None, **member):
        return self.post("/cards", {"batch_id": batch_id, "member": {"external_id": external_id, **member}},
                         key=key, idempotency_key=idempotency_key)

    def card(self, external_id="M001", **batch_fields) -> dict:
        """A fresh card issued to a member from a new claim batch."""
        response = self.issue(self.batch(**batch_fields), external_id)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def top_up(self, card_no, amount_fen, external_order_no, key=None, idempotency_key=None):
        return self.post(f"/cards/{card_no}/top-ups", {"amount_fen": amount_fen,
                                                       "external_order_no": external_order_no},
                         key=key, idempotency_key=idempotency_key)

    def redeem(self, card_no, key=None, idempotency_key=None, **body):
        body.setdefault("store_id", self.shop.store_id)
        return self.post("/redemptions", {"card_no": card_no, **body}, key=key, idempotency_key=idempotency_key)


@pytest.fixture
def open_api(app, client, shop) -> OpenApi:
    return OpenApi(app, client, shop)


@pytest.fixture
def other_merchant(app):
    """A second approved merchant with an owner, a store and a claim batch; its ids."""

    class Other:
        def __init__(self) -> None:
            with app.app_context():
                merchant = factories.merchant(db.session)
                self.merchant_id = merchant.id
                self.owner_id = factories.staff(db.session, merchant, "owner").id
                self.store_id = factories.store(db.session, merchant).id
                db.session.commit()
            self.batch_id = support.batch(app, self.merchant_id)

    return Other()


def merchant_row(app, merchant_id: int) -> Merchant:
    return support.reload(app, Merchant, merchant_id)


def staff_row(app, staff_id: int) -> Staff:
    return support.reload(app, Staff, staff_id)
