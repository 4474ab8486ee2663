"""WeChat Pay orders: creation, settlement (the one path for notify and reconciliation), reconciliation.

Settlement rules:

- ``settle_payment`` is the only code that marks an order paid. It locks the order row, checks
  the amount (and that ``attach`` names the order), moves it to ``paid`` with one conditional
  UPDATE, stores WeChat's unique transaction_id, and runs the order's effect (``effects``) in the
  same transaction — so the effect runs exactly once, however many notifies and reconciliations race.
- A repeat (same transaction_id) answers ``duplicate`` and touches nothing.
- An order we closed that WeChat nevertheless reports paid is still settled and credited: WeChat
  took the consumer's money, so refusing would keep it without delivering anything. (Closing
  normally goes through WeChat first, so this only happens in a race at the edge of expiry.)
- Anything wrong raises ``PaymentRejected`` before the first write; the caller rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.consumers.models import Consumer
from server.db import utcnow
from server.errors import NotFound
from server.merchants.wechat_pay import payment_sub_mchid
from server.payments import effects
from server.payments.models import ORDER_LIFECYCLE, NotifyOutcome, OrderPurpose, OrderStatus, PaymentOrder
from server.wechat import OrderAlreadyPaid, OrderNotExist, PaymentGateway, PaymentNotice, new_out_trade_no

logger = logging.getLogger(__name__)

#: WeChat stops accepting payment this long after the order is created (time_expire).
ORDER_LIFETIME = timedelta(minutes=15)
#: out_trade_no prefixes, so the merchant console tells order kinds apart.
ORDER_NUMBER_PREFIX = {OrderPurpose.PURCHASE: "P", OrderPurpose.TOP_UP: "T"}
#: States from which a payment confirmation settles an order (closed: see the module docstring).
#: orderquery states after which WeChat will never take the payment.
DEAD_TRADE_STATES = frozenset({"CLOSED", "REVOKED", "PAYERROR"})


class PaymentRejected(Exception):
    """A payment confirmation that must not be settled: answer FAIL, roll back, credit nothing."""

    def __init__(self, reason: str, order: PaymentOrder | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.order = order


@dataclass(frozen=True)
class Settlement:
    #: settled (the effect ran now) or duplicate (it had already run).
    outcome: NotifyOutcome
    order: PaymentOrder


def create_order(
    session: Session,
    gateway: PaymentGateway,
    *,
    merchant_id: int,
    consumer: Consumer,
    purpose: OrderPurpose,
    amount_fen: int,
    bonus_fen: int = 0,
    card_id: int | None = None,
    batch_id: int | None = None,
    client_ip: str,
    description: str,
    idempotency_key: str | None,
) -> tuple[PaymentOrder, dict[str, str]]:
    """Record the order, then place it with WeChat; returns it with the ``wx.requestPayment`` params.

    The row is flushed before WeChat is called, so a WeChat failure (raised as a 502) rolls back
    cleanly and never leaves a paid order we do not know about. In partner mode the order goes to
    the merchant's sub-merchant (422 PAYMENT_NOT_CONFIGURED without one).
    """
    sub_mchid = payment_sub_mchid(session, merchant_id, partner=gateway.partner)
    order = PaymentOrder(
        merchant_id=merchant_id,
        consumer_id=consumer.id,
        card_id=card_id,
        batch_id=batch_id,
        purpose=purpose,
        out_trade_no=new_out_trade_no(ORDER_NUMBER_PREFIX[purpose]),
        amount_fen=amount_fen,
        bonus_fen=bonus_fen,
        expires_at=utcnow() + ORDER_LIFETIME,
        client_ip=client_ip,
        idempotency_key=idempotency_key,
        sub_mchid=sub_mchid,
    )
    session.add(order)
    session.flush()
    order.prepay_id = gateway.create_order(
        out_trade_no=order.out_trade_no,
        amount_fen=amount_fen,
        description=description,
        openid=consumer.openid,
        client_ip=client_ip,
        notify_url=gateway.pay_notify_url,
        attach=str(order.id),
        expire_at=order.expires_at,
        sub_mchid=sub_mchid,
    )
    session.flush()
    return order, gateway.pay_params(order.prepay_id)


def settle_payment(
    session: Session, gateway: PaymentGateway, config: Mapping[str, Any], notice: PaymentNotice, *, source: str
) -> Settlement:
    """Settle a verified payment confirmation (``source``: notify or reconcile) exactly once.

    The order's effect may need ``gateway`` (an undeliverable purchase is refunded) and ``config``.
    """
    order = session.scalar(
        select(PaymentOrder)
        .where(PaymentOrder.out_trade_no == notice.out_trade_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise PaymentRejected("unknown order")
    if notice.total_fee != order.amount_fen:
        raise PaymentRejected("total_fee differs from the order amount", order)
    if notice.attach and notice.attach != str(order.id):
        raise PaymentRejected("attach does not name this order", order)
    if (notice.sub_mchid or None) != order.sub_mchid:
        raise PaymentRejected("sub_mchid is not the order's merchant's", order)
    if not notice.paid:
        raise PaymentRejected(f"result_code is {notice.result_code}", order)
    if order.transaction_id is not None:
        if order.transaction_id == notice.transaction_id:
            return Settlement(NotifyOutcome.DUPLICATE, order)
        raise PaymentRejected("order already settled by another transaction", order)

    was_closed = order.status == OrderStatus.CLOSED
    moved = session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == order.id, PaymentOrder.status.in_(ORDER_LIFECYCLE.sources("pay")))
        .values(status=OrderStatus.PAID, transaction_id=notice.transaction_id, paid_at=notice.time_end or utcnow())
    ).rowcount
    if moved != 1:  # a concurrent twin settled it first (SQLite ignores FOR UPDATE)
        return Settlement(NotifyOutcome.DUPLICATE, order)
    session.refresh(order)
    if was_closed:
        logger.warning("order %s was closed but WeChat reports it paid: settling it", order.out_trade_no)
    effects.run(session, gateway, config, order)
    session.flush()
    logger.info("order %s settled via %s", order.out_trade_no, source)
    return Settlement(NotifyOutcome.SETTLED, order)


def consumer_order(session: Session, consumer_id: int, out_trade_no: str) -> PaymentOrder:
    """The consumer's own order; another consumer's is reported missing, never forbidden."""
    order = session.scalar(
        select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no, PaymentOrder.consumer_id == consumer_id)
    )
    if order is None:
        raise NotFound("订单不存在")
    return order


class ReconcileOutcome(StrEnum):
    SETTLED = "settled"
    CLOSED = "closed"
    PENDING = "pending"
    ERROR = "error"


def orders_to_reconcile(session: Session, *, created_before: datetime) -> list[str]:
    """Order numbers still pending that were created before ``created_before``, oldest first."""
    return list(session.scalars(
        select(PaymentOrder.out_trade_no)
        .where(PaymentOrder.status == OrderStatus.PENDING, PaymentOrder.created_at <= created_before)
        .order_by(PaymentOrder.id)
    ))


def reconcile_order(
    session: Session, gateway: PaymentGateway, config: Mapping[str, Any], out_trade_no: str
) -> ReconcileOutcome:
    """Ask WeChat about one pending order: settle it if paid, close it if dead or expired.

    Paid orders go through ``settle_payment``, like a notify.
    """
    sub_mchid = session.scalar(select(PaymentOrder.sub_mchid).where(PaymentOrder.out_trade_no == out_trade_no))
    try:
        result = gateway.query_order(out_trade_no, sub_mchid=sub_mchid)
    except OrderNotExist:
        result = None  # WeChat never saw it: nothing can have been paid
    if result is not None and result.paid:
        settle_payment(session, gateway, config, result.to_notice(), source="reconcile")
        return ReconcileOutcome.SETTLED
    if result is not None and result.trade_state in DEAD_TRADE_STATES:
        return _close(session, out_trade_no)
    order = session.scalar(select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no))
    if order is None or order.expires_at > utcnow():
        return ReconcileOutcome.PENDING
    if result is not None:
        try:
            gateway.close_order(out_trade_no, sub_mchid=sub_mchid)
        except OrderAlreadyPaid:  # paid at the last moment: settle instead
            settle_payment(session, gateway, config, gateway.query_order(out_trade_no, sub_mchid=sub_mchid).to_notice(),
                           source="reconcile")
            return ReconcileOutcome.SETTLED
    return _close(session, out_trade_no)


def _close(session: Session, out_trade_no: str) -> ReconcileOutcome:
    session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.out_trade_no == out_trade_no, PaymentOrder.status.in_(ORDER_LIFECYCLE.sources("close")))
        .values(status=ORDER_LIFECYCLE.target(OrderStatus.PENDING, "close"))
    )
    return ReconcileOutcome.CLOSED
