"""Helpers for the payments tests: the served app (``Live``) and data builders through it."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from server.consumers.models import Consumer
from server.db import db
from server.payments.models import OrderPurpose, PaymentOrder
from server.payments.services import create_order
from server.products.models import CardProduct
from server.wechat import WeChatSettings
from server.wechat.adapters import get_payment_gateway
from tests import factories
from wechat_simulator import URL_PREFIX
from wechat_simulator.signing import signed_xml

TOP_UP_TEMPLATE = "tpl-top-up"


@dataclasses.dataclass
class Live:
    """The served app: its base URL, the app object (for direct service calls) and helpers."""

    app: Flask
    base_url: str

    @property
    def settings(self) -> WeChatSettings:
        return WeChatSettings.from_config(self.app.config)

    def url(self, path: str) -> str:
        return self.base_url + path

    def sim_url(self, path: str) -> str:
        return self.base_url + URL_PREFIX + path

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url(path), timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url(path), timeout=10, **kwargs)

    def login(self, name: str | None = None, *, union: bool = False) -> tuple[int, dict[str, str]]:
        """Log a simulated WeChat user in through POST /mp/login; returns (consumer_id, auth headers)."""
        parts = ["sim", name or "u" + uuid.uuid4().hex[:10], *(["union"] if union else []), uuid.uuid4().hex[:8]]
        response = self.post("/api/v1/mp/login", json={"code": ":".join(parts)})
        assert response.status_code == 200, response.text
        body = response.json()
        return body["consumer_id"], {"Authorization": f"Bearer {body['token']}"}

    def simulate_pay(self, out_trade_no: str, *, notify: bool = True) -> dict[str, Any]:
        """The consumer pays in WeChat; the simulator then delivers the notify (unless ``notify`` is off)."""
        suffix = "" if notify else "?notify=0"
        response = requests.post(self.sim_url(f"/pay/simulate/{out_trade_no}{suffix}"), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def notify_attempts(self, ref: str) -> list[dict[str, Any]]:
        return requests.get(self.sim_url(f"/pay/_notifies/{ref}"), timeout=10).json()["items"]

    def wait_acknowledged(self, ref: str, deliveries: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the simulator's ``deliveries``-th notify for ``ref`` was answered SUCCESS."""
        def acknowledged() -> list[dict[str, Any]] | None:
            attempts = self.notify_attempts(ref)
            return attempts if sum(a["ok"] for a in attempts) >= deliveries else None

        return wait_for(acknowledged, timeout)

    def messages(self, openid: str) -> list[dict[str, Any]]:
        return requests.get(self.sim_url("/api/_messages"), params={"touser": openid}, timeout=10).json()["items"]

    def signed_notify(self, **fields: Any) -> bytes:
        """A payment notify signed with our API key, as WeChat would send it (tests forge from here)."""
        settings = self.settings
        base = {
            "return_code": "SUCCESS",
            "appid": settings.appid,
            "mch_id": settings.mch_id,
            "nonce_str": uuid.uuid4().hex,
            "result_code": "SUCCESS",
            "openid": "oTest",
            "trade_type": "JSAPI",
            "bank_type": "OTHERS",
            "fee_type": "CNY",
            "time_end": "20261123101500",
        }
        return signed_xml({**base, **fields}, settings.pay_key).encode()

    def query(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(session)`` in the served app's context (a fresh session) and return its result."""
        with self.app.app_context():
            try:
                return fn(db.session)
            finally:
                db.session.remove()


def wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


@dataclasses.dataclass
class Shop:
    merchant_id: int
    product_id: int


def new_card(live: Live, shop: Shop, owner_id: int, **balances: int) -> int:
    def build(session):
        product = session.get(CardProduct, shop.product_id)
        card = factories.card(session, product, owner_id=owner_id, **balances)
        session.commit()
        return card.id

    return live.query(build)


def place_top_up(live: Live, shop: Shop, consumer_id: int, card_id: int, amount_fen: int, bonus_fen: int = 0
                 ) -> tuple[str, dict[str, str]]:
    """A top-up order placed through the payments service and WeChat (the simulator)."""
    with live.app.test_request_context():
        order, pay_params = create_order(
            db.session,
            get_payment_gateway(),
            merchant_id=shop.merchant_id,
            consumer=db.session.get(Consumer, consumer_id),
            purpose=OrderPurpose.TOP_UP,
            amount_fen=amount_fen,
            bonus_fen=bonus_fen,
            card_id=card_id,
            client_ip="127.0.0.1",
            description="咖啡储值卡充值",
            idempotency_key=None,
        )
        db.session.commit()
        out_trade_no = order.out_trade_no
        db.session.remove()
    return out_trade_no, pay_params


def order_row(live: Live, out_trade_no: str) -> PaymentOrder:
    def load(session):
        order = session.scalar(select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no))
        session.expunge(order)
        return order

    return live.query(load)


def wait_order_status(live: Live, out_trade_no: str, status: str) -> PaymentOrder:
    return wait_for(lambda: (o := order_row(live, out_trade_no)).status == status and o)
