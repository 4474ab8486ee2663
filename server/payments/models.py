"""Payment orders, refunds and the log of every WeChat Pay notification."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import ModeScoped
from server.transitions import Lifecycle


class OrderPurpose(StrEnum):
    PURCHASE = "purchase"
    TOP_UP = "top_up"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDED = "refunded"


#: An order is paid once; a closed order WeChat reports paid after all is settled too (the money
#: arrived). Refunded means every fen went back.
ORDER_LIFECYCLE = Lifecycle(OrderStatus, {
    (OrderStatus.PENDING, "pay"): OrderStatus.PAID,
    (OrderStatus.CLOSED, "pay"): OrderStatus.PAID,
    (OrderStatus.PENDING, "close"): OrderStatus.CLOSED,
    (OrderStatus.PAID, "refund"): OrderStatus.REFUNDED,
}, noun="订单")


class PaymentOrder(ModeScoped, CreatedAt, db.Model):
    """One WeChat Pay order; its effect (issue a card, credit a top-up) runs once, when paid."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        one_of("purpose", OrderPurpose),
        one_of("status", OrderStatus),
        *non_negative("bonus_fen", "refunded_fen"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen <= amount_fen", name="refund_within_amount"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    consumer_id: Mapped[int] = mapped_column(BigId, ForeignKey("consumers.id"), index=True)
    #: The card topped up, or the card issued by a purchase once paid.
    card_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    #: The batch a purchase buys from.
    batch_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("batches.id"))
    #: purchase or top_up.
    purpose: Mapped[str] = mapped_column(String(20))
    #: Our out_trade_no: alphanumeric, ≤ 32 characters.
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    #: Amount charged (total_fee), fen.
    amount_fen: Mapped[int]
    #: Bonus credited with a top-up when paid, fen.
    bonus_fen: Mapped[int] = mapped_column(default=0)
    #: pending, paid, closed or refunded.
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING)
    #: WeChat's prepay_id for wx.requestPayment.
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    #: WeChat's transaction_id, unique: one payment settles one order.
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: When WeChat says it was paid.
    paid_at: Mapped[datetime | None]
    #: WeChat stops accepting payment after this (time_expire).
    expires_at: Mapped[datetime]
    #: Refunded so far, fen.
    refunded_fen: Mapped[int] = mapped_column(default=0)
    #: Buyer's IP address, passed to WeChat as spbill_create_ip.
    client_ip: Mapped[str] = mapped_column(String(45), default="127.0.0.1")
    #: Idempotency key of the request that created it (per consumer).
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    #: Partner mode: the sub-merchant the order was placed for (its queries, refunds and notifies name it).
    sub_mchid: Mapped[str | None] = mapped_column(String(32))


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: A refund, and each of its allocations to a paid order, ends once: succeeded or failed.
REFUND_LIFECYCLE = Lifecycle(RefundStatus, {
    (RefundStatus.PENDING, "succeed"): RefundStatus.SUCCEEDED,
    (RefundStatus.PENDING, "fail"): RefundStatus.FAILED,
}, noun="退款")


class Refund(ModeScoped, CreatedAt, db.Model):
    """A consumer's refund of a card's unused value, paid back through WeChat refunds."""

    __tablename__ = "refunds"
    __table_args__ = (
        one_of("status", RefundStatus),
        *non_negative("refund_fen", "fee_fen", "forfeited_bonus_fen"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The card refunded; NULL when a paid purchase could not be delivered and is refunded whole.
    card_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    consumer_id: Mapped[int] = mapped_column(BigId, ForeignKey("consumers.id"))
    #: Our refund number shown to the consumer.
    refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    #: Paid back to the consumer, fen.
    refund_fen: Mapped[int]
    #: Fee kept under the product's refund rule, fen.
    fee_fen: Mapped[int] = mapped_column(default=0)
    #: Bonus forfeited by the refund, fen.
    forfeited_bonus_fen: Mapped[int] = mapped_column(default=0)
    #: pending until every WeChat refund it needs has succeeded.
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.PENDING)
    #: The consumer's reason.
    reason: Mapped[str] = mapped_column(String(200), default="")
    #: Ledger journal that emptied the card.
    journal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journals.id"))
    #: When the last WeChat refund settled.
    settled_at: Mapped[datetime | None]


class RefundAllocation(ModeScoped, CreatedAt, db.Model):
    """The part of a refund paid back against one paid order (newest orders first)."""

    __tablename__ = "refund_allocations"
    __table_args__ = (
        one_of("status", RefundStatus),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    refund_id: Mapped[int] = mapped_column(BigId, ForeignKey("refunds.id"), index=True)
    payment_order_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment_orders.id"), index=True)
    #: out_refund_no sent to WeChat.
    out_refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    #: Refunded against this order, fen.
    amount_fen: Mapped[int]
    #: WeChat's refund_id once accepted.
    wechat_refund_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: pending, succeeded or failed.
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.PENDING)


class NotifyKind(StrEnum):
    PAY = "pay"
    REFUND = "refund"


class NotifyOutcome(StrEnum):
    """What became of a notification (or of a reconciliation's settlement)."""

    #: Settled now: the order's effect ran, or the refund record moved on.
    SETTLED = "settled"
    #: Already settled: nothing touched, answered SUCCESS.
    DUPLICATE = "duplicate"
    #: Untrustworthy or not matching our records: answered FAIL, nothing credited.
    REJECTED = "rejected"
    #: We failed while settling: answered FAIL, so WeChat retries; nothing credited.
    ERROR = "error"


class PaymentNotifyLog(CreatedAt, db.Model):
    """Every WeChat Pay notification received, without secrets, for audit."""

    __tablename__ = "payment_notify_log"
    __table_args__ = (one_of("kind", NotifyKind), one_of("outcome", NotifyOutcome))

    id: Mapped[IntPK]
    #: The merchant of the order, when the order was found.
    merchant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("merchants.id"), index=True)
    #: pay or refund.
    kind: Mapped[str] = mapped_column(String(10))
    #: The order or refund number it named, if readable.
    reference: Mapped[str | None] = mapped_column(String(32), index=True)
    #: settled, duplicate, rejected or error.
    outcome: Mapped[str] = mapped_column(String(20))
    #: Why, for rejected ones; and the non-secret fields.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
