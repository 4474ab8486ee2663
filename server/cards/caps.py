"""The legal cap on what one card may hold (MOFCOM: 5,000 yuan named, 1,000 yuan unnamed).

Every way value reaches a card past its opening — WeChat Pay and external top-ups, points exchanged
for stored value — asks the same question here: how much room is left, counting the top-ups still
waiting for payment, which may all be paid. Callers hold the card's row lock.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.cards.models import Card
from server.db import utcnow
from server.payments.models import OrderPurpose, OrderStatus, PaymentOrder
from server.products.models import CardProduct
from server.products.validation import NAMED_CARD_CAP_FEN, UNNAMED_CARD_CAP_FEN


def card_cap_fen(product: CardProduct) -> int:
    return NAMED_CARD_CAP_FEN if product.named else UNNAMED_CARD_CAP_FEN


def pending_top_ups_fen(session: Session, card_id: int) -> int:
    """What the card's unpaid, unexpired WeChat Pay top-ups would add if they were all paid."""
    return int(session.scalar(
        select(func.coalesce(func.sum(PaymentOrder.amount_fen + PaymentOrder.bonus_fen), 0)).where(
            PaymentOrder.card_id == card_id, PaymentOrder.purpose == OrderPurpose.TOP_UP,
            PaymentOrder.status == OrderStatus.PENDING, PaymentOrder.expires_at > utcnow())
    ))


def cap_room_fen(session: Session, card: Card, product: CardProduct) -> int:
    """Value the card may still take without passing its legal cap (never negative)."""
    return max(card_cap_fen(product) - card.balance_fen - pending_top_ups_fen(session, card.id), 0)
