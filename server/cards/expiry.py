"""Card expiry and reactivation.

Prepaid value never lapses: the regulation (MOFCOM measures; SPC 法释〔2025〕4号 Art. 24) requires
that a card with a balance left at expiry can be reactivated or replaced. So expiring a card only
changes its status; its principal, bonus and uses stay on the books as liability. Points are a
loyalty reward, not a prepayment: they lapse with an ``expire`` journal back to points issuance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.cards.events import record_card_event
from server.cards.models import CARD_LIFECYCLE, Card, CardStatus
from server.cards.services import card_expiry
from server.errors import Conflict, NotFound
from server.ledger.accounts import CardBucket, MerchantAccount
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import card_to_merchant, lock_cards, post_journal
from server.products.models import CardProduct
from server.products.validation import UNNAMED_MIN_VALIDITY_DAYS

#: A reactivated card whose fixed validity has passed gets the regulation's minimum of three years.
REACTIVATION_PERIOD = timedelta(days=UNNAMED_MIN_VALIDITY_DAYS)


@dataclass(frozen=True)
class ExpiryReport:
    cards_expired: int
    points_lapsed: int


def expire_cards(session: Session, now: datetime, batch_size: int = 500) -> ExpiryReport:
    """Mark every active card past its expiry as expired; lapse points with a ledger journal."""
    expired = lapsed = 0
    while True:
        ids = list(session.scalars(
            select(Card.id).where(Card.status == CardStatus.ACTIVE, Card.expires_at <= now)
            .order_by(Card.id).limit(batch_size)
        ))
        if not ids:
            return ExpiryReport(expired, lapsed)
        for card in lock_cards(session, ids).values():
            if card.status != CardStatus.ACTIVE:  # changed while we waited for the lock
                continue
            if card.points:
                lapsed += card.points
                lapse = [(CardBucket.POINTS, MerchantAccount.POINTS_ISSUANCE, card.points)]
                post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.EXPIRE,
                             actor_type=ActorType.SYSTEM, ref_type="card", ref_id=card.id,
                             postings=card_to_merchant(card.id, card.merchant_id, lapse), locked={card.id: card})
            CARD_LIFECYCLE.apply(card, "expire")
            record_card_event(session, card, "card.expired")
            expired += 1
        session.flush()


def reactivate_card(session: Session, actor: Principal, card_no: str, now: datetime,
                    reason: str | None = None) -> Card:
    """Bring an expired card back with its balance, valid for a new period of its product."""
    card = session.scalar(select(Card).where(Card.card_no == card_no))
    if card is None or card.merchant_id != actor.merchant_id:
        raise NotFound("卡不存在")
    card = lock_cards(session, [card.id])[card.id]
    if not CARD_LIFECYCLE.allows(card.status, "reactivate"):
        raise Conflict("只有已过期的卡可以重新激活")
    product = session.get(CardProduct, card.product_id)
    new_expiry = card_expiry(product.validity, now)
    card.expires_at = new_expiry if new_expiry is None or new_expiry > now else now + REACTIVATION_PERIOD
    CARD_LIFECYCLE.apply(card, "reactivate")
    session.flush()
    record(session, action="card.reactivate", actor_type="staff", actor_id=actor.id, merchant_id=card.merchant_id,
           target_type="card", target_id=card.id,
           detail={"expires_at": card.expires_at.isoformat() if card.expires_at else None,
                   **({"reason": reason} if reason else {})})
    return card
