"""Refund money movement: split a refund across paid orders, ask WeChat, settle by refund notify.

Each part of a refund is a ``RefundAllocation`` against one order, with its own out_refund_no,
recorded (and the order's ``refunded_fen`` raised by a conditional UPDATE) before WeChat is asked.
WeChat is asked after the flush; a transient failure (network, WeChat busy, missing certificate)
leaves the allocation pending without a WeChat refund id, and ``reconcile-payments`` asks again
under the same out_refund_no, which WeChat never pays twice. So the caller's transaction commits
even when WeChat is down, and nothing WeChat accepted is ever rolled back and forgotten.
The refund notify (``settle_refund``) decides each allocation: succeeded, or failed (the order's
amount is released); once no allocation is pending, the refund record succeeds or fails with them.
A notify that never arrives is made up for by ``reconcile-payments``, which asks WeChat with
refundquery and settles the answer through the same ``settle_refund``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TypeVar

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, Exists

from server.db import utcnow
from server.errors import Conflict, NotRefundable
from server.payments.models import (
    ORDER_LIFECYCLE,
    REFUND_LIFECYCLE,
    NotifyOutcome,
    OrderStatus,
    PaymentOrder,
    Refund,
    RefundAllocation,
    RefundStatus,
)
from server.wechat import PayConfigurationError, PaymentError, PaymentGateway, RefundNotice, new_out_trade_no

logger = logging.getLogger(__name__)

T = TypeVar("T", Refund, PaymentOrder)

#: WeChat refund errors worth asking again about; any other refusal fails the allocation.
TRANSIENT_ERR_CODES = frozenset({"SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED"})
REFUND_NUMBER_PREFIX = "R"
#: refundquery's refund_status while WeChat has not finished: not an outcome yet.
REFUND_PROCESSING = "PROCESSING"


class RefundRejected(Exception):
    """A refund notify that does not match our records: answer FAIL, change nothing."""

    def __init__(self, reason: str, allocation: RefundAllocation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.allocation = allocation


def refund_card_payments(
    session: Session, gateway: PaymentGateway, *, refund: Refund, amount_fen: int
) -> list[RefundAllocation]:
    """Pay ``amount_fen`` of ``refund`` back against the card's paid orders, newest first.

    422 NOT_REFUNDABLE when the card's paid orders cannot cover it (e.g. value that came from a
    code or a free claim was never paid through WeChat).
    """
    orders = session.scalars(
        select(PaymentOrder)
        .where(
            PaymentOrder.card_id == refund.card_id,
            PaymentOrder.status.in_(ORDER_LIFECYCLE.sources("refund")),
            PaymentOrder.refunded_fen < PaymentOrder.amount_fen,
        )
        .order_by(PaymentOrder.paid_at.desc(), PaymentOrder.id.desc())
        .with_for_update()
    ).all()
    plan: list[tuple[PaymentOrder, int, str]] = []
    remaining = amount_fen
    for order in orders:
        if remaining == 0:
            break
        share = min(remaining, order.amount_fen - order.refunded_fen)
        plan.append((order, share, new_out_trade_no(REFUND_NUMBER_PREFIX)))
        remaining -= share
    if remaining:
        raise NotRefundable(
            "该卡可原路退回的微信支付金额不足", details={"refundable_fen": amount_fen - remaining}
        )
    return _refund_orders(session, gateway, refund, plan)


def refund_undeliverable_order(
    session: Session, gateway: PaymentGateway, order: PaymentOrder, *, reason: str
) -> Refund:
    """Give back the whole of a paid order that delivered nothing (e.g. its batch sold out meanwhile).

    The refund number derives from the order number, so settling the same payment again after a
    failed commit asks WeChat for the same refund instead of a second one.
    """
    number = REFUND_NUMBER_PREFIX + order.out_trade_no[1:]
    refund = Refund(
        merchant_id=order.merchant_id,
        card_id=None,
        consumer_id=order.consumer_id,
        refund_no=number,
        refund_fen=order.amount_fen,
        reason=reason,
    )
    session.add(refund)
    session.flush()
    _refund_orders(session, gateway, refund, [(order, order.amount_fen, number)])
    return refund


def _refund_orders(
    session: Session, gateway: PaymentGateway, refund: Refund, plan: list[tuple[PaymentOrder, int, str]]
) -> list[RefundAllocation]:
    allocations = []
    for order, share, out_refund_no in plan:
        raised = session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == order.id, PaymentOrder.refunded_fen + share <= PaymentOrder.amount_fen)
            .values(refunded_fen=PaymentOrder.refunded_fen + share)
        ).rowcount
        if raised != 1:
            raise Conflict("订单可退金额已变化，请重试")
        allocation = RefundAllocation(
            merchant_id=order.merchant_id,
            refund_id=refund.id,
            payment_order_id=order.id,
            out_refund_no=out_refund_no,
            amount_fen=share,
        )
        session.add(allocation)
        allocations.append(allocation)
    session.flush()
    for allocation, (order, _, _) in zip(allocations, plan, strict=True):
        _submit(session, gateway, allocation, order, refund.reason)
    session.flush()
    return allocations


def _submit(
    session: Session, gateway: PaymentGateway, allocation: RefundAllocation, order: PaymentOrder, reason: str
) -> None:
    """Ask WeChat for one allocation; only a definitive refusal fails it, anything else is retried later."""
    try:
        result = gateway.refund(
            out_trade_no=order.out_trade_no,
            out_refund_no=allocation.out_refund_no,
            total_fen=order.amount_fen,
            refund_fen=allocation.amount_fen,
            notify_url=gateway.refund_notify_url,
            reason=reason,
            sub_mchid=order.sub_mchid,
        )
    except PayConfigurationError as exc:
        logger.error("refund %s left pending: %s", allocation.out_refund_no, exc.reason)
        return
    except PaymentError as exc:
        if exc.err_code is None or exc.err_code in TRANSIENT_ERR_CODES:
            logger.warning("refund %s left pending for a retry: %s", allocation.out_refund_no, exc)
            return
        logger.error("WeChat refused refund %s: %s", allocation.out_refund_no, exc)
        _fail(session, allocation)
        return
    allocation.wechat_refund_id = result.refund_id


def resubmit_pending_refunds(session: Session, gateway: PaymentGateway, *, created_before: datetime) -> int:
    """Ask WeChat again for allocations it has not accepted yet; returns how many were asked about."""
    rows = session.execute(
        select(RefundAllocation, PaymentOrder, Refund.reason)
        .join(PaymentOrder, PaymentOrder.id == RefundAllocation.payment_order_id)
        .join(Refund, Refund.id == RefundAllocation.refund_id)
        .where(
            RefundAllocation.status == RefundStatus.PENDING,
            RefundAllocation.wechat_refund_id.is_(None),
            RefundAllocation.created_at <= created_before,
        )
        .order_by(RefundAllocation.id)
    ).all()
    for allocation, order, reason in rows:
        _submit(session, gateway, allocation, order, reason)
    session.flush()
    return len(rows)


def accepted_refunds_to_settle(session: Session, *, created_before: datetime) -> list[tuple[str, str | None]]:
    """Allocations WeChat accepted before ``created_before`` whose notify never came: (out_refund_no,
    the order's sub-merchant)."""
    return [tuple(row) for row in session.execute(
        select(RefundAllocation.out_refund_no, PaymentOrder.sub_mchid)
        .join(PaymentOrder, PaymentOrder.id == RefundAllocation.payment_order_id)
        .where(
            RefundAllocation.status == RefundStatus.PENDING,
            RefundAllocation.wechat_refund_id.is_not(None),
            RefundAllocation.created_at <= created_before,
        )
        .order_by(RefundAllocation.id)
    )]


def settle_accepted_refund(session: Session, gateway: PaymentGateway, out_refund_no: str,
                           sub_mchid: str | None) -> bool:
    """Settle one accepted allocation from refundquery, as its notify would have; True if settled now.

    A refund WeChat is still processing is left for the next run.
    """
    notice = gateway.query_refund(out_refund_no, sub_mchid=sub_mchid)
    if notice.refund_status == REFUND_PROCESSING:
        return False
    return settle_refund(session, notice)[0] == NotifyOutcome.SETTLED


def settle_refund(session: Session, notice: RefundNotice) -> tuple[NotifyOutcome, RefundAllocation]:
    """Apply a verified refund notify once: the allocation succeeds or fails; repeats change nothing.

    Raises ``RefundRejected`` when the notify names no allocation of ours or other amounts.
    """
    allocation = session.scalar(
        select(RefundAllocation)
        .where(RefundAllocation.out_refund_no == notice.out_refund_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if allocation is None:
        raise RefundRejected("unknown refund")
    # Lock the refund and the order too (always allocation → refund → order): notifies of sibling
    # allocations then settle one after the other, and the last one sees every other outcome.
    _lock(session, Refund, allocation.refund_id)
    order = _lock(session, PaymentOrder, allocation.payment_order_id)
    if order.out_trade_no != notice.out_trade_no:
        raise RefundRejected("out_trade_no does not match the refund", allocation)
    if notice.refund_fee != allocation.amount_fen:
        raise RefundRejected("refund_fee differs from the refund amount", allocation)
    if (notice.sub_mchid or None) != order.sub_mchid:
        raise RefundRejected("sub_mchid is not the order's merchant's", allocation)
    if allocation.status != RefundStatus.PENDING:
        return NotifyOutcome.DUPLICATE, allocation
    if not notice.succeeded:
        logger.error("WeChat reports refund %s as %s", allocation.out_refund_no, notice.refund_status)
        _fail(session, allocation)
        return NotifyOutcome.SETTLED, allocation
    moved = session.execute(
        update(RefundAllocation)
        .where(RefundAllocation.id == allocation.id,
               RefundAllocation.status.in_(REFUND_LIFECYCLE.sources("succeed")))
        .values(status=REFUND_LIFECYCLE.target(RefundStatus.PENDING, "succeed"), wechat_refund_id=notice.refund_id)
    ).rowcount
    if moved != 1:  # a concurrent twin settled it first (SQLite ignores FOR UPDATE)
        return NotifyOutcome.DUPLICATE, allocation
    _close_fully_refunded_order(session, order.id)
    _settle_refund_record(session, allocation.refund_id)
    session.flush()
    return NotifyOutcome.SETTLED, allocation


def _lock(session: Session, model: type[T], row_id: int) -> T:
    return session.scalars(
        select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _fail(session: Session, allocation: RefundAllocation) -> None:
    """The money did not go back: mark the allocation failed and release the order's amount."""
    moved = session.execute(
        update(RefundAllocation)
        .where(RefundAllocation.id == allocation.id, RefundAllocation.status.in_(REFUND_LIFECYCLE.sources("fail")))
        .values(status=REFUND_LIFECYCLE.target(RefundStatus.PENDING, "fail"))
    ).rowcount
    if moved == 1:
        session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == allocation.payment_order_id)
            .values(refunded_fen=PaymentOrder.refunded_fen - allocation.amount_fen)
        )
        _settle_refund_record(session, allocation.refund_id)


def _pending_allocation(*conditions: ColumnElement[bool]) -> Exists:
    return exists().where(RefundAllocation.status == RefundStatus.PENDING, *conditions)


def _close_fully_refunded_order(session: Session, order_id: int) -> None:
    session.execute(
        update(PaymentOrder)
        .where(
            PaymentOrder.id == order_id,
            PaymentOrder.status.in_(ORDER_LIFECYCLE.sources("refund")),
            PaymentOrder.refunded_fen == PaymentOrder.amount_fen,
            ~_pending_allocation(RefundAllocation.payment_order_id == order_id),
        )
        .values(status=ORDER_LIFECYCLE.target(OrderStatus.PAID, "refund"))
    )


def _settle_refund_record(session: Session, refund_id: int) -> None:
    """Once no part is pending, the refund succeeded if every part did, else it failed."""
    if session.scalar(select(_pending_allocation(RefundAllocation.refund_id == refund_id))):
        return
    any_failed = session.scalar(
        select(
            exists().where(RefundAllocation.refund_id == refund_id, RefundAllocation.status == RefundStatus.FAILED)
        )
    )
    session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
        .values(status=REFUND_LIFECYCLE.target(RefundStatus.PENDING, "fail" if any_failed else "succeed"),
                settled_at=utcnow())
    )
