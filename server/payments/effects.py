"""What a paid order does, by purpose. ``settle_payment`` runs exactly one effect per order, once,
in the transaction that marks the order paid.

Purchase after sell-out: a purchase order is only created while stock and the buyer's per-user
limit allow it, counting other unpaid orders as reservations (``purchases``), and the card is
issued even if the batch was paused or its sale window ended after the order was placed — the
consumer paid for an offer we accepted. The stock and per-user limit are still the final word
(a batch never issues beyond its quantity): when they refuse at settlement — only possible for an
order paid in the last minutes of its life, when it no longer held its card, or after the merchant
cut the quantity — or the product's validity has ended, the whole payment is refunded
automatically instead, so nobody pays without getting a card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from server.cards.events import record_card_event
from server.cards.models import Card
from server.cards.services import issue_card
from server.errors import Conflict
from server.issuance.models import Batch
from server.issuance.services import enforce_per_user_limit, take_from_stock
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal, transfer
from server.notifications.services import TemplateKey, amount_text, queue_message, thing_text, time_text
from server.payments.models import OrderPurpose, PaymentOrder
from server.payments.wechat_refunds import refund_undeliverable_order
from server.products.models import CardProduct
from server.timeutil import iso
from server.wechat import PaymentGateway

logger = logging.getLogger(__name__)

#: An effect gets the gateway (to refund an order it cannot deliver) and the settings from the caller.
OrderEffect = Callable[[Session, PaymentGateway, Mapping[str, Any], PaymentOrder], None]
_EFFECTS: dict[str, OrderEffect] = {}

UNDELIVERABLE_REASON = "商品已售罄或超出限购，已自动全额退款"


def order_effect(purpose: OrderPurpose) -> Callable[[OrderEffect], OrderEffect]:
    """Register the effect of paid orders of ``purpose`` (one per purpose)."""

    def register(effect: OrderEffect) -> OrderEffect:
        if purpose in _EFFECTS:
            raise ValueError(f"an effect for {purpose} is already registered")
        _EFFECTS[purpose] = effect
        return effect

    return register


def run(session: Session, gateway: PaymentGateway, config: Mapping[str, Any], order: PaymentOrder) -> None:
    _EFFECTS[order.purpose](session, gateway, config, order)


def order_key(order: PaymentOrder) -> str:
    """Idempotency key of the journal an order books: one journal per order, ever."""
    return f"order:{order.out_trade_no}"


def top_up_postings(merchant_id: int, card_id: int, amount_fen: int, bonus_fen: int,
                    clearing: MerchantAccount) -> list[Posting]:
    """A top-up's journal: the amount as principal from ``clearing`` (WeChat's, or the merchant's own
    till or shop), the tier's bonus from promotion."""
    return [
        *transfer(merchant_account(merchant_id, clearing), card_account(card_id, CardBucket.PRINCIPAL), amount_fen),
        *transfer(merchant_account(merchant_id, MerchantAccount.PROMOTION),
                  card_account(card_id, CardBucket.BONUS), bonus_fen),
    ]


@order_effect(OrderPurpose.TOP_UP)
def credit_top_up(session: Session, _gateway: PaymentGateway, _config: Mapping[str, Any], order: PaymentOrder) -> None:
    """Principal from WeChat clearing and the tier's bonus from promotion, in one journal."""
    if order.card_id is None:
        raise ValueError(f"top-up order {order.out_trade_no} names no card")
    m = order.merchant_id
    postings = top_up_postings(m, order.card_id, order.amount_fen, order.bonus_fen, MerchantAccount.WECHAT_CLEARING)
    post_journal(
        session,
        merchant_id=m,
        kind=JournalKind.TOP_UP,
        postings=postings,
        actor_type=ActorType.CONSUMER,
        actor_id=order.consumer_id,
        ref_type="order",
        ref_id=order.id,
        idempotency_key=order_key(order),
    )
    card = session.get_one(Card, order.card_id)
    record_card_event(session, card, "card.topped_up", top_up={
        "order_no": order.out_trade_no, "amount_fen": order.amount_fen, "bonus_fen": order.bonus_fen,
        "paid_at": iso(order.paid_at)})
    _queue_credit_message(session, order, card)


@order_effect(OrderPurpose.PURCHASE)
def issue_purchased_card(
    session: Session, gateway: PaymentGateway, config: Mapping[str, Any], order: PaymentOrder
) -> None:
    """Issue the bought card with the paid amount; refund the order whole if none may be issued."""
    batch = session.get_one(Batch, order.batch_id)
    product = session.get_one(CardProduct, batch.product_id)
    try:
        # A savepoint, so a refusal undoes any stock already taken; the order's UPDATE came first,
        # which keeps SQLite from releasing the savepoint as a commit.
        with session.begin_nested():
            enforce_per_user_limit(session, batch, order.consumer_id)
            take_from_stock(session, batch)
            card = issue_card(
                session,
                config,
                product=product,
                batch=batch,
                owner_id=order.consumer_id,
                paid_fen=order.amount_fen,
                actor_type=ActorType.CONSUMER,
                actor_id=order.consumer_id,
                idempotency_key=order_key(order),
            )
    except Conflict as refusal:
        logger.warning("order %s paid but undeliverable (%s): refunding", order.out_trade_no, refusal.code)
        refund_undeliverable_order(session, gateway, order, reason=UNDELIVERABLE_REASON)
        return
    order.card_id = card.id
    _queue_credit_message(session, order, card, product)


def _queue_credit_message(
    session: Session, order: PaymentOrder, card: Card, product: CardProduct | None = None
) -> None:
    """Tell the consumer the payment reached their card (the top-up template)."""
    product = product or session.get_one(CardProduct, card.product_id)
    queue_message(
        session,
        merchant_id=order.merchant_id,
        consumer_id=order.consumer_id,
        template_key=TemplateKey.TOP_UP,
        payload={
            "card": thing_text(product.name),
            "amount": amount_text(order.amount_fen),
            "bonus": amount_text(card.bonus_fen if order.purpose == OrderPurpose.PURCHASE else order.bonus_fen),
            "balance": amount_text(card.balance_fen),
            "time": time_text(order.paid_at),
        },
    )
