"""Top-ups (充值) with bonus tiers: what an amount earns, the legal cap, and the WeChat Pay order.

An amount is allowed when it is one of the product's tiers, or within its custom range; a custom
amount earns the bonus of the highest tier it reaches (充300送30: 350 also gets 30). The card's
reachable balance — what it holds, plus this amount and its bonus — must stay within the MOFCOM
cap (5,000 yuan named, 1,000 yuan unnamed). Principal and bonus are credited together, once, when
WeChat confirms the payment (server/payments/effects.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from server.cards.caps import cap_room_fen, card_cap_fen
from server.cards.models import Card, CardStatus
from server.cards.services import owned_card
from server.consumers.models import Consumer
from server.errors import BusinessRuleError, CardNotActive
from server.ledger.services import lock_cards
from server.merchants.models import Merchant
from server.payments.models import OrderPurpose, PaymentOrder
from server.payments.services import create_order
from server.products.models import CardKind, CardProduct
from server.wechat import PaymentGateway


def _not_allowed(message: str, **details: Any) -> BusinessRuleError:
    return BusinessRuleError(message, code="AMOUNT_NOT_ALLOWED", details=details)


def bonus_for(top_up: Mapping[str, Any], amount_fen: int) -> int:
    """The bonus an allowed amount earns; AMOUNT_NOT_ALLOWED for anything else."""
    if not top_up.get("enabled"):
        raise _not_allowed("该卡不支持充值")
    tiers = sorted(top_up.get("tiers") or [], key=lambda tier: tier["amount_fen"])
    exact = next((tier for tier in tiers if tier["amount_fen"] == amount_fen), None)
    if exact is not None:
        return int(exact.get("bonus_fen") or 0)
    low, high = top_up.get("min_fen") or 1, top_up.get("max_fen")
    if not top_up.get("allow_custom") or amount_fen < low or (high is not None and amount_fen > high):
        raise _not_allowed("充值金额不在可选档位或自定义范围内",
                           tiers=[tier["amount_fen"] for tier in tiers],
                           min_fen=low if top_up.get("allow_custom") else None,
                           max_fen=high if top_up.get("allow_custom") else None)
    reached = [tier for tier in tiers if tier["amount_fen"] <= amount_fen]
    return int(reached[-1].get("bonus_fen") or 0) if reached else 0


def options(session: Session, consumer_id: int, card_id: int) -> dict[str, Any]:
    """What the consumer may top up, with each tier's bonus, shown before paying."""
    card = owned_card(session, card_id, consumer_id)
    product = session.get(CardProduct, card.product_id)
    top_up = product.top_up or {}
    room = cap_room_fen(session, card, product)
    return {
        "enabled": bool(top_up.get("enabled")) and product.kind == CardKind.STORED_VALUE,
        "tiers": [{"amount_fen": t["amount_fen"], "bonus_fen": t.get("bonus_fen") or 0,
                   "within_cap": t["amount_fen"] + (t.get("bonus_fen") or 0) <= room}
                  for t in top_up.get("tiers") or []],
        "allow_custom": bool(top_up.get("allow_custom")),
        "min_fen": top_up.get("min_fen"),
        "max_fen": top_up.get("max_fen"),
        "cap_fen": card_cap_fen(product),
        "room_fen": room,
    }


def allowed_top_up(session: Session, card: Card, product: CardProduct, amount_fen: int) -> int:
    """The bonus a top-up of ``amount_fen`` earns on ``card``, or why it is refused: only an active
    stored-value card, only the product's tiers or custom range, never above the legal cap — counting
    the top-ups still waiting for payment, which may all be paid. Every top-up path checks through
    here (WeChat Pay and the open API's externally collected money), under the card's row lock."""
    if product.kind != CardKind.STORED_VALUE:
        raise _not_allowed("只有储值卡可以充值")
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive(details={"status": card.status})
    bonus = bonus_for(product.top_up or {}, amount_fen)
    room = cap_room_fen(session, card, product)
    if amount_fen + bonus > room:
        raise _not_allowed("充值后余额将超过单张卡的法定上限", cap_fen=card_cap_fen(product),
                           balance_fen=card.balance_fen, room_fen=room)
    return bonus


def start_top_up(session: Session, gateway: PaymentGateway, *, consumer_id: int, card_id: int, amount_fen: int,
                 client_ip: str, idempotency_key: str | None) -> tuple[PaymentOrder, dict[str, str]]:
    """A WeChat Pay order for a top-up of the caller's active stored-value card."""
    card: Card = owned_card(session, card_id, consumer_id)
    card = lock_cards(session, [card.id])[card.id]  # two top-ups of one card are checked one after the other
    product = session.get(CardProduct, card.product_id)
    bonus = allowed_top_up(session, card, product, amount_fen)
    merchant = session.get(Merchant, card.merchant_id)
    return create_order(
        session, gateway, merchant_id=card.merchant_id, consumer=session.get_one(Consumer, consumer_id),
        purpose=OrderPurpose.TOP_UP, amount_fen=amount_fen, bonus_fen=bonus, card_id=card.id,
        client_ip=client_ip, description=f"{merchant.name}-{product.name}充值"[:40],
        idempotency_key=idempotency_key,
    )
