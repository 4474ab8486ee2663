"""Helpers for the payments tests: the served app (``Live``) and data builders through it."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
import xmltodict
from flask import Flask
from sqlalchemy import select

from server.consumers.models import Consumer
from server.db import db
from server.payments.models import OrderPurpose, PaymentOrder
from server.payments.services import create_order
from server.products.models import CardProduct
from server.wechat import WeChatSettings
from server.wechat.adapters import get_payment_gateway
from server.wechat.settings import (
    PAY_NOTIFY_PATH,
    PAY_V3_NOTIFY_PATH,
    REFUND_NOTIFY_PATH,
    REFUND_V3_NOTIFY_PATH,
)
from tests import factories
from wechat_simulator import URL_PREFIX
from wechat_simulator.pay_v3 import PayV3Simulator
from wechat_simulator.pay_v3 import notify_body as v3_notify_body
from wechat_simulator.signing import encrypt_req_info, signed_xml, to_xml

TOP_UP_TEMPLATE = "tpl-top-up"


#: v3 refund states for the v2 ones tests name (CHANGE: failed).
_V3_REFUND_STATUS = {"SUCCESS": "SUCCESS", "CHANGE": "ABNORMAL", "REFUNDCLOSE": "CLOSED"}


@dataclasses.dataclass
class Live:
    """The served app: its base URL, the app object (for direct service calls) and helpers.

    ``version`` is the WeChat Pay API version it is configured with; the notify helpers build and
    read notifies of that version from the same (v2-named) fields, so one test serves both.
    """

    app: Flask
    base_url: str
    version: str = "v2"

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

    @property
    def notify_path(self) -> str:
        return PAY_V3_NOTIFY_PATH if self.version == "v3" else PAY_NOTIFY_PATH

    @property
    def refund_notify_path(self) -> str:
        return REFUND_V3_NOTIFY_PATH if self.version == "v3" else REFUND_NOTIFY_PATH

    @property
    def sim_v3(self) -> PayV3Simulator:
        return self.app.extensions["wechat_simulator_v3"]

    def payment_notify(self, **fields: Any) -> tuple[bytes, dict[str, str]]:
        """A payment notify of the configured version, signed as WeChat signs it: (body, headers).

        ``fields`` use v2 names (out_trade_no, total_fee, transaction_id, attach, appid, mch_id,
        result_code, openid); v3 puts them where its resource has them. ``sub_mchid`` (partner).
        """
        if self.version == "v2":
            return self.signed_notify(**fields), {"Content-Type": "text/xml"}
        settings = self.settings
        paid = fields.get("result_code", "SUCCESS") == "SUCCESS"
        resource: dict[str, Any] = {
            "out_trade_no": fields["out_trade_no"],
            "transaction_id": fields.get("transaction_id", ""),
            "trade_type": "JSAPI",
            "trade_state": "SUCCESS" if paid else "PAYERROR",
            "trade_state_desc": "支付成功" if paid else "支付失败",
            "bank_type": "OTHERS",
            "attach": fields.get("attach", ""),
            "success_time": "2026-11-23T10:15:00+08:00",
            "amount": {"total": int(fields["total_fee"]), "payer_total": int(fields["total_fee"]), "currency": "CNY"},
        }
        if fields.get("sub_mchid"):
            resource.update(sp_appid=fields.get("appid", settings.appid),
                            sp_mchid=fields.get("mch_id", settings.mch_id), sub_mchid=fields["sub_mchid"],
                            payer={"sp_openid": fields.get("openid", "oTest")})
        else:
            resource.update(appid=fields.get("appid", settings.appid), mchid=fields.get("mch_id", settings.mch_id),
                            payer={"openid": fields.get("openid", "oTest")})
        return self.v3_notify("TRANSACTION.SUCCESS", resource, "transaction")

    def refund_notify(self, **inner: Any) -> tuple[bytes, dict[str, str]]:
        """A refund notify of the configured version from v2-named fields (out_refund_no, out_trade_no,
        refund_id, total_fee, refund_fee, refund_status, success_time), as WeChat sends it."""
        settings = self.settings
        if self.version == "v2":
            body = to_xml({"return_code": "SUCCESS", "appid": settings.appid, "mch_id": settings.mch_id,
                           "sub_mch_id": inner.pop("sub_mchid", ""), "nonce_str": uuid.uuid4().hex,
                           "req_info": encrypt_req_info(inner, settings.pay_key)}).encode()
            return body, {"Content-Type": "text/xml"}
        status = _V3_REFUND_STATUS[inner["refund_status"]]
        resource: dict[str, Any] = {
            "out_trade_no": inner["out_trade_no"],
            "transaction_id": inner.get("transaction_id", ""),
            "out_refund_no": inner["out_refund_no"],
            "refund_id": inner["refund_id"],
            "refund_status": status,
            "user_received_account": "支付用户零钱",
            "amount": {"total": int(inner["total_fee"]), "refund": int(inner["refund_fee"]),
                       "payer_total": int(inner["total_fee"]), "payer_refund": int(inner["refund_fee"])},
        }
        if inner.get("success_time"):
            resource["success_time"] = inner["success_time"].replace(" ", "T") + "+08:00"
        if inner.get("sub_mchid"):
            resource.update(sp_mchid=settings.mch_id, sub_mchid=inner["sub_mchid"])
        else:
            resource["mchid"] = settings.mch_id
        return self.v3_notify(f"REFUND.{status}", resource, "refund")

    def v3_notify(self, event_type: str, resource: dict[str, Any], associated_data: str, *,
                  timestamp: int | None = None, apiv3_key: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A v3 notify signed with the simulator's WeChat Pay key (tests forge variations from here)."""
        body = v3_notify_body(event_type, resource, apiv3_key or self.settings.apiv3_key, associated_data)
        keys = self.sim_v3.keys
        headers = {"Content-Type": "application/json", **keys.headers(body, keys.public_key_id, timestamp=timestamp)}
        return body.encode(), headers

    def reply(self, response: requests.Response) -> tuple[str, str | None]:
        """A notify answer as (SUCCESS|FAIL, message), checking it is shaped as the version wants."""
        if self.version == "v2":
            assert response.status_code == 200
            reply = xmltodict.parse(response.content)["xml"]
            return reply["return_code"], reply.get("return_msg")
        if response.status_code in (200, 204):
            return "SUCCESS", None
        assert 400 <= response.status_code < 500, response.status_code
        reply = response.json()
        assert set(reply) == {"code", "message"} and reply["code"] == "FAIL"
        return "FAIL", reply["message"]

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
