"""Buying a card from a purchase batch: checks at order time, the card itself at settlement.

Reservations: an unpaid order with more than ``RESERVATION_MARGIN`` left before it expires holds
one card of the batch — it counts against the batch quantity and the buyer's per-user limit, so
stock is not oversold to people who are paying at the same moment. Nothing has to be released: an
expired order simply stops counting. A buyer who asks again while holding such an order gets that
order back (fresh ``wx.requestPayment`` parameters, same order number) instead of a second one.
The final guarantee is at settlement (see ``effects``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.consumers.models import Consumer
from server.db import utcnow
from server.errors import Conflict, SoldOut
from server.issuance.models import IssueMethod
from server.issuance.services import Offer, enforce_per_user_limit, ensure_on_sale, find_batch
from server.payments.models import OrderPurpose, OrderStatus, PaymentOrder
from server.payments.services import create_order
from server.wechat import PaymentGateway

#: An unpaid order this close to expiry no longer holds a card (WeChat wants ≥ 1 minute to pay).
RESERVATION_MARGIN = timedelta(minutes=2)


def start_purchase(
    session: Session,
    gateway: PaymentGateway,
    *,
    consumer: Consumer,
    batch_id: int,
    client_ip: str,
    idempotency_key: str | None,
) -> tuple[PaymentOrder, dict[str, str]]:
    """The order to pay for one card of the batch, with its ``wx.requestPayment`` parameters."""
    offer = find_batch(session, batch_id)
    ensure_on_sale(offer, IssueMethod.PURCHASE)
    batch = offer.batch
    if batch.price_fen <= 0:
        raise Conflict("该批次为免费领取，请直接领取")
    # Cards already received count against the limit; the buyer's own unpaid order is resumed below,
    # so it never counts twice. With a limit the buyer's row is locked: their requests queue here.
    enforce_per_user_limit(session, batch, consumer.id)
    held = _reservations(batch.id)
    mine = session.scalar(
        held.where(PaymentOrder.consumer_id == consumer.id).order_by(PaymentOrder.id.desc()).limit(1)
    )
    if mine is not None:
        return mine, gateway.pay_params(mine.prepay_id)
    held_count = session.scalar(select(func.count()).select_from(held.subquery()))
    if batch.issued_count + held_count >= batch.quantity:
        raise SoldOut()
    return create_order(
        session,
        gateway,
        merchant_id=batch.merchant_id,
        consumer=consumer,
        purpose=OrderPurpose.PURCHASE,
        amount_fen=batch.price_fen,
        batch_id=batch.id,
        client_ip=client_ip,
        description=_description(offer),
        idempotency_key=idempotency_key,
    )


def _reservations(batch_id: int) -> Select[tuple[PaymentOrder]]:
    """Unpaid purchase orders of the batch that still hold a card."""
    return select(PaymentOrder).where(
        PaymentOrder.batch_id == batch_id,
        PaymentOrder.purpose == OrderPurpose.PURCHASE,
        PaymentOrder.status == OrderStatus.PENDING,
        PaymentOrder.expires_at > utcnow() + RESERVATION_MARGIN,
    )


def _description(offer: Offer) -> str:
    return f"{offer.merchant.name}-{offer.product.name}"
