"""WeChat Pay callbacks (payment and refund notify) and the consumer's view of an order.

v2 callbacks always answer HTTP 200 — SUCCESS when processed (repeats included), FAIL with a
reason otherwise; v3 callbacks answer 204, or 400 ``{"code": "FAIL", "message": …}``. A notify
reaching the endpoint of the version that is not configured is refused. A refused or failed
settlement is rolled back here first, so only its PaymentNotifyLog row is committed (by the request
boundary, or here for a 4xx answer, which the boundary rolls back): nothing is credited, yet the
audit trail keeps every notify. Bodies are never logged (they carry the signature and personal data).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import xmltodict
from flask import Response, current_app, jsonify, request

from server.api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.db import db
from server.openapi import error_statuses
from server.payments.models import NotifyKind, NotifyOutcome, PaymentNotifyLog
from server.payments.services import PaymentRejected, consumer_order, settle_payment
from server.payments.wechat_refunds import RefundRejected, settle_refund
from server.schemas import Blueprint
from server.timeutil import iso
from server.wechat import InvalidNotify, PaymentGateway
from server.wechat.adapters import get_payment_gateway
from server.wechat.pay import V2NotifyReplies, V3NotifyReplies

logger = logging.getLogger(__name__)

callbacks = Blueprint("wechat_callbacks", __name__, url_prefix="/api/v1/wechat", description="微信支付回调")
orders = Blueprint("mp_orders", __name__, url_prefix="/api/v1/mp/orders", description="小程序订单")

_NUMBER = re.compile(r"[0-9A-Za-z]{1,32}")
#: Larger bodies are refused by the gateway anyway; do not parse them just to find a reference.
_REFERENCE_SCAN_BYTES = 64 * 1024


@callbacks.route("/pay/notify", methods=["POST"])
@callbacks.doc(responses=docs.V2_NOTIFY_RESPONSES)
@error_statuses()
def pay_notify() -> Response:
    """WeChat Pay v2's payment notify: verify, settle once, answer SUCCESS/FAIL XML."""
    return _payment_notify("v2")


@callbacks.route("/pay/v3/notify", methods=["POST"])
@callbacks.doc(responses=docs.V3_NOTIFY_RESPONSES)
@error_statuses()
def pay_v3_notify() -> Response:
    """WeChat Pay v3's payment notify: 204 once processed, 4xx ``{"code": "FAIL"}`` when refused."""
    return _payment_notify("v3")


@callbacks.route("/refund/notify", methods=["POST"])
@callbacks.doc(responses=docs.V2_NOTIFY_RESPONSES)
@error_statuses()
def refund_notify() -> Response:
    """WeChat Pay v2's refund notify (encrypted req_info): settle the refund allocation once."""
    return _refund_notify("v2")


@callbacks.route("/refund/v3/notify", methods=["POST"])
@callbacks.doc(responses=docs.V3_NOTIFY_RESPONSES)
@error_statuses()
def refund_v3_notify() -> Response:
    """WeChat Pay v3's refund notify (AES-256-GCM resource): settle the refund allocation once."""
    return _refund_notify("v3")


def _payment_notify(version: str) -> Response:
    gateway = get_payment_gateway()
    body = request.get_data()
    receipt = _Receipt(gateway, NotifyKind.PAY, version,
                       reference=_claimed_out_trade_no(body) if version == "v2" else None)
    try:
        receipt.check_version()
        notice = gateway.parse_payment_notify(body, request.headers)
        receipt.reference = notice.out_trade_no
        receipt.detail = {"transaction_id": notice.transaction_id, "total_fee": notice.total_fee,
                          "result_code": notice.result_code}
        settlement = settle_payment(db.session, gateway, current_app.config, notice, source="notify")
    except (InvalidNotify, PaymentRejected) as exc:
        return receipt.refused(exc.reason, getattr(exc, "order", None))
    except Exception as exc:  # any failure of ours answers FAIL, never a 500
        return receipt.failed(exc)
    return receipt.processed(settlement.outcome, settlement.order.merchant_id)


def _refund_notify(version: str) -> Response:
    gateway = get_payment_gateway()
    receipt = _Receipt(gateway, NotifyKind.REFUND, version)
    try:
        receipt.check_version()
        notice = gateway.parse_refund_notify(request.get_data(), request.headers)
        receipt.reference = notice.out_refund_no
        receipt.detail = {"out_trade_no": notice.out_trade_no, "refund_id": notice.refund_id,
                          "refund_fee": notice.refund_fee, "refund_status": notice.refund_status}
        outcome, allocation = settle_refund(db.session, notice)
    except (InvalidNotify, RefundRejected) as exc:
        return receipt.refused(exc.reason, getattr(exc, "allocation", None))
    except Exception as exc:  # any failure of ours answers FAIL, never a 500
        return receipt.failed(exc)
    return receipt.processed(outcome, allocation.merchant_id)


class _Receipt:
    """Answers one notify and logs it (outcome, reason, reference; never the body or a secret)."""

    def __init__(self, gateway: PaymentGateway, kind: NotifyKind, version: str, reference: str | None = None) -> None:
        self.gateway = gateway
        self.version = version
        #: Answers in the endpoint's protocol, even when the configured gateway speaks the other one.
        self.replies: Any = gateway if gateway.version == version else _REPLIES[version]
        self.kind = kind
        self.reference = reference
        self.detail: dict[str, Any] = {}

    def check_version(self) -> None:
        if self.gateway.version != self.version:
            raise InvalidNotify(f"WeChat Pay {self.version} is not configured")

    def processed(self, outcome: NotifyOutcome, merchant_id: int) -> Response:
        self._log(outcome, merchant_id)
        return self._reply(self.replies.reply_success(), self.replies.reply_success_status)

    def refused(self, reason: str, record: Any | None) -> Response:
        db.session.rollback()  # whatever the settlement wrote goes; only the log row is committed
        logger.warning("%s notify %s rejected: %s", self.kind, self.reference, reason)
        self.detail["reason"] = reason
        self._log(NotifyOutcome.REJECTED, record.merchant_id if record is not None else None)
        return self._reply(self.replies.reply_fail(reason), self.replies.reply_fail_status)

    def failed(self, exc: Exception) -> Response:
        db.session.rollback()
        logger.exception("%s notify %s could not be settled", self.kind, self.reference)
        self.detail["reason"] = type(exc).__name__
        self._log(NotifyOutcome.ERROR, None)
        return self._reply(self.replies.reply_fail("系统繁忙，请稍后重试"), self.replies.reply_fail_status)

    def _log(self, outcome: NotifyOutcome, merchant_id: int | None) -> None:
        db.session.add(PaymentNotifyLog(
            kind=self.kind,
            reference=self.reference,
            outcome=outcome,
            merchant_id=merchant_id,
            detail={key: value for key, value in self.detail.items() if value is not None},
        ))

    def _reply(self, body: str, status: int) -> Response:
        if status >= 400:  # the boundary rolls back 4xx answers: keep the log row (all that is left) now
            db.session.commit()
        return Response(body or None, status=status, mimetype=self.replies.reply_mimetype)


_REPLIES = {"v2": V2NotifyReplies(), "v3": V3NotifyReplies()}


def _claimed_out_trade_no(body: bytes) -> str | None:
    """The order number a notify claims before it is verified — logged for rejected ones, never trusted."""
    if len(body) > _REFERENCE_SCAN_BYTES:
        return None
    try:
        value = xmltodict.parse(body)["xml"]["out_trade_no"]
    except Exception:  # garbage has no reference to log
        return None
    return value if isinstance(value, str) and _NUMBER.fullmatch(value) else None


@orders.route("/<order_no>", methods=["GET"])
@orders.alt_response(200, schema=docs.OrderSchema, success=True)
@require(PrincipalKind.CONSUMER)
def get_order(order_no: str):
    """The caller's order (poll it after wx.requestPayment: the client's success callback proves nothing)."""
    order = consumer_order(db.session, current_principal().id, order_no)
    return jsonify(
        order_no=order.out_trade_no,
        status=order.status,
        amount_fen=order.amount_fen,
        bonus_fen=order.bonus_fen,
        card_id=order.card_id,
        purpose=order.purpose,
        refunded_fen=order.refunded_fen,
        created_at=iso(order.created_at),
        paid_at=iso(order.paid_at),
    )
