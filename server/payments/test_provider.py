"""The test payment provider (API.md "Test mode"): pays test purchases and top-ups the moment they are
ordered and refunds them at once, in production too, without anything reaching WeChat.

It is a ``PaymentGateway`` like WeChat Pay's, so test money runs the live code: the order is created
by ``create_order``, found paid by the very reconciliation that settles a live order whose notify
was lost (``reconcile_order`` → ``settle_payment`` → the order's effect), and its refunds are settled
by the reconciliation of refunds. Its answers come from the session's own test-mode rows: what
Kabao ordered is what the provider says was paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.errors import Conflict
from server.modes import Mode, session_mode
from server.payments.models import PaymentOrder, Refund, RefundAllocation
from server.payments.services import reconcile_order
from server.payments.wechat_refunds import settle_accepted_refund
from server.wechat import (
    InvalidNotify,
    OrderNotExist,
    OrderQueryResult,
    PaymentGateway,
    PaymentNotice,
    RefundNotice,
    RefundResult,
)
from server.wechat.pay import V2NotifyReplies

#: The provider's own account names, in place of WeChat's appid and mch_id.
PROVIDER = "kabao-test"


class TestPaymentGateway(V2NotifyReplies, PaymentGateway):
    """Answers from the test books of ``session``; refuses to serve a live session."""

    version = "test"
    pay_notify_url = refund_notify_url = ""

    def __init__(self, session: Session) -> None:
        if session_mode(session) != Mode.TEST:
            raise Conflict("测试支付只能在测试模式中使用")
        self._session = session

    def create_order(self, *, out_trade_no: str, amount_fen: int, description: str, openid: str, client_ip: str,
                     notify_url: str, attach: str, expire_at: datetime, sub_mchid: str | None = None) -> str:
        return f"test_{out_trade_no}"

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        """Nothing for ``wx.requestPayment``: a test payment is never shown to WeChat."""
        return {"timeStamp": "", "nonceStr": "", "package": f"prepay_id={prepay_id}", "signType": "TEST",
                "paySign": ""}

    def parse_payment_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> PaymentNotice:
        raise InvalidNotify("the test provider sends no notifies")

    def query_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> OrderQueryResult:
        order = self._session.scalar(select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no))
        if order is None:
            raise OrderNotExist(out_trade_no)
        return OrderQueryResult(
            out_trade_no=out_trade_no, trade_state="SUCCESS", trade_state_desc="测试支付成功",
            transaction_id=f"TEST{order.out_trade_no}"[:32], total_fee=order.amount_fen, appid=PROVIDER,
            mch_id=PROVIDER, openid=None, attach=str(order.id), time_end=utcnow(), sub_mchid=order.sub_mchid,
        )

    def close_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> None:
        """Nothing to close: a test order is paid as soon as it exists."""

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, notify_url: str,
               reason: str, sub_mchid: str | None = None) -> RefundResult:
        return RefundResult(out_refund_no=out_refund_no, refund_id=f"TEST{out_refund_no}"[:32],
                            out_trade_no=out_trade_no, transaction_id=None, refund_fee=refund_fen,
                            total_fee=total_fen)

    def query_refund(self, out_refund_no: str, *, sub_mchid: str | None = None) -> RefundNotice:
        allocation, order = self._session.execute(
            select(RefundAllocation, PaymentOrder)
            .join(PaymentOrder, PaymentOrder.id == RefundAllocation.payment_order_id)
            .where(RefundAllocation.out_refund_no == out_refund_no)
        ).one()
        return RefundNotice(out_refund_no=out_refund_no, out_trade_no=order.out_trade_no,
                            refund_id=allocation.wechat_refund_id or f"TEST{out_refund_no}"[:32],
                            transaction_id=order.transaction_id, refund_fee=allocation.amount_fen,
                            total_fee=order.amount_fen, refund_status="SUCCESS", success_time=utcnow())

    def parse_refund_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> RefundNotice:
        raise InvalidNotify("the test provider sends no notifies")


def pay_at_once(session: Session, gateway: TestPaymentGateway, config: Mapping[str, Any],
                order: PaymentOrder) -> PaymentOrder:
    """Settle a test order now, through the reconciliation a live order takes when its notify is lost."""
    reconcile_order(session, gateway, config, order.out_trade_no)
    session.refresh(order)
    return order


def refund_at_once(session: Session, gateway: TestPaymentGateway, refund: Refund) -> Refund:
    """Settle a test refund's payments now, through the reconciliation of live refunds."""
    numbers = session.scalars(select(RefundAllocation.out_refund_no).where(RefundAllocation.refund_id == refund.id))
    for out_refund_no in list(numbers):
        settle_accepted_refund(session, gateway, out_refund_no, None)
    session.refresh(refund)
    return refund
