"""A consumer's refund (退款) of a card's unused value.

Within 7 days of purchase with nothing used, the whole principal comes back with no fee (SPC
法释〔2025〕4号 Art. 14). Otherwise the remaining principal comes back less the product's fee
percent (rounded in the consumer's favour), and the remaining bonus is forfeited (Art. 18–21: the
consumer never pays more than the prepayment). A count card's remaining principal is already pro
rata by remaining uses, because each use recognised its share. Only money paid through WeChat can go
back through WeChat; principal that came free (a claim or a code) is forfeited, not paid out.

One journal empties the card: principal → refunds (what is paid back) + revenue (the fee) +
promotion (free principal); bonus → promotion; uses → uses issuance. WeChat refunds follow against
the card's paid orders, newest first (server/payments/wechat_refunds.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.cards.events import record_card_event
from server.cards.models import CARD_LIFECYCLE, Card
from server.cards.services import owned_card
from server.errors import NotRefundable
from server.ledger.accounts import CardBucket, MerchantAccount
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import card_to_merchant, lock_cards, post_journal
from server.payments.models import OrderStatus, PaymentOrder, Refund
from server.payments.wechat_refunds import refund_card_payments
from server.products.models import CardKind, CardProduct
from server.products.validation import COOLING_OFF_DAYS
from server.redemption.models import Redemption, RedemptionStatus
from server.wechat import PaymentGateway, new_out_trade_no


@dataclass(frozen=True)
class RefundTerms:
    """What a refund of the card would pay back now: refundable principal, fee, forfeited bonus."""

    refundable_fen: int
    fee_fen: int
    forfeited_bonus_fen: int
    cooling_off: bool

    @property
    def refund_fen(self) -> int:
        return self.refundable_fen - self.fee_fen


def refund_terms(session: Session, card: Card, product: CardProduct, now: datetime) -> RefundTerms:
    """The refund rule applied to the card as it stands; NotRefundable when nothing can come back."""
    if not CARD_LIFECYCLE.allows(card.status, "refund"):
        raise NotRefundable("该卡当前状态不可退款", details={"status": card.status})
    if not CardKind(product.kind).prepaid or not (product.refund_rule or {}).get("allowed"):
        raise NotRefundable()
    used = session.scalar(select(exists().where(Redemption.card_id == card.id,
                                                Redemption.status == RedemptionStatus.COMPLETED)))
    cooling_off = not used and now - card.created_at <= timedelta(days=COOLING_OFF_DAYS)
    paid = session.scalar(select(func.coalesce(func.sum(PaymentOrder.amount_fen - PaymentOrder.refunded_fen), 0))
                          .where(PaymentOrder.card_id == card.id, PaymentOrder.status == OrderStatus.PAID))
    refundable = min(card.principal_fen, int(paid))
    if refundable <= 0:
        raise NotRefundable("该卡没有可退回的已付金额")
    fee = 0 if cooling_off else refundable * int((product.refund_rule or {}).get("fee_percent") or 0) // 100
    return RefundTerms(refundable, fee, card.bonus_fen, cooling_off)


def quote_refund(session: Session, *, consumer_id: int, card_id: int, now: datetime) -> dict[str, Any]:
    """What the consumer would get back, shown before they confirm; changes nothing."""
    card = owned_card(session, card_id, consumer_id)
    terms = refund_terms(session, card, session.get(CardProduct, card.product_id), now)
    return {"card_id": card.id, "refund_fen": terms.refund_fen, "fee_fen": terms.fee_fen,
            "forfeited_bonus_fen": terms.forfeited_bonus_fen, "cooling_off": terms.cooling_off,
            "principal_fen": card.principal_fen, "bonus_fen": card.bonus_fen}


def refund_card(session: Session, gateway: PaymentGateway, *, consumer_id: int, card_id: int, reason: str,
                now: datetime) -> Refund:
    card = owned_card(session, card_id, consumer_id)
    card = lock_cards(session, [card.id])[card.id]
    product = session.get(CardProduct, card.product_id)
    terms = refund_terms(session, card, product, now)
    refundable, fee, cooling_off = terms.refundable_fen, terms.fee_fen, terms.cooling_off
    refund = Refund(merchant_id=card.merchant_id, card_id=card.id, consumer_id=consumer_id,
                    refund_no=new_out_trade_no("F"), refund_fen=refundable - fee, fee_fen=fee,
                    forfeited_bonus_fen=card.bonus_fen, reason=reason)
    session.add(refund)
    session.flush()
    m = card.merchant_id
    legs = [
        (CardBucket.PRINCIPAL, MerchantAccount.REFUNDS, refund.refund_fen),
        (CardBucket.PRINCIPAL, MerchantAccount.REVENUE, fee),
        (CardBucket.PRINCIPAL, MerchantAccount.PROMOTION, card.principal_fen - refundable),
        (CardBucket.BONUS, MerchantAccount.PROMOTION, card.bonus_fen),
        (CardBucket.USES, MerchantAccount.USES_ISSUANCE, card.uses_remaining),
    ]
    journal = post_journal(session, merchant_id=m, kind=JournalKind.REFUND, postings=card_to_merchant(card.id, m, legs),
                           actor_type=ActorType.CONSUMER, actor_id=consumer_id, ref_type="refund", ref_id=refund.id,
                           idempotency_key=f"refund:{refund.refund_no}", locked={card.id: card})
    refund.journal_id = journal.id
    CARD_LIFECYCLE.apply(card, "refund")
    if refund.refund_fen:
        refund_card_payments(session, gateway, refund=refund, amount_fen=refund.refund_fen)
    record(session, action="card.refund", actor_type="consumer", actor_id=consumer_id, merchant_id=m,
           target_type="card", target_id=card.id,
           detail={"refund_no": refund.refund_no, "refund_fen": refund.refund_fen, "fee_fen": fee,
                   "forfeited_bonus_fen": refund.forfeited_bonus_fen, "cooling_off": cooling_off})
    record_card_event(session, card, "card.refunded", refund={
        "refund_no": refund.refund_no, "refund_fen": refund.refund_fen, "fee_fen": refund.fee_fen,
        "forfeited_bonus_fen": refund.forfeited_bonus_fen, "status": refund.status})
    return refund
