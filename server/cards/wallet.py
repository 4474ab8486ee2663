"""The consumer's wallet: my cards, a card's dynamic code, and its statement of transactions."""

from __future__ import annotations

from typing import Any

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.cards.dynamic_codes import DynamicCode, issue_code
from server.cards.face_links import FaceLinks
from server.cards.models import Card, CardStatus
from server.cards.serializers import serialize_card
from server.cards.services import owned_card
from server.errors import CardExpired, CardNotActive
from server.ledger.models import Journal, LedgerEntry
from server.merchants.models import Merchant, Store
from server.pagination import decode_cursor, encode_cursor
from server.products.models import CardProduct
from server.ratelimit import throttle
from server.timeutil import iso

#: Dynamic codes a consumer may ask for per minute (the app refreshes every 30 s, and on every show).
CODES_PER_MINUTE = 20


def _serialize(session: Session, card: Card, links: FaceLinks) -> dict[str, Any]:
    product = session.get(CardProduct, card.product_id)
    return serialize_card(card, product, session.get(Merchant, card.merchant_id), links)


def my_cards(session: Session, links: FaceLinks, consumer_id: int) -> list[dict[str, Any]]:
    cards = session.scalars(select(Card).where(Card.owner_id == consumer_id).order_by(Card.id.desc()))
    return [_serialize(session, card, links) for card in cards]


def my_card(session: Session, links: FaceLinks, consumer_id: int, card_id: int) -> dict[str, Any]:
    return _serialize(session, owned_card(session, card_id, consumer_id), links)


def new_code(session: Session, redis: Redis, consumer_id: int, card_id: int, now) -> DynamicCode:
    """A fresh dynamic code for an active card of the caller's; the previous one stops working."""
    card = owned_card(session, card_id, consumer_id)
    if card.status == CardStatus.EXPIRED or (card.expires_at is not None and card.expires_at <= now):
        raise CardExpired()
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive(details={"status": card.status})
    throttle(redis, f"codes:{consumer_id}", limit=CODES_PER_MINUTE, window_seconds=60)
    return issue_code(redis, card.id)


def transactions(session: Session, consumer_id: int, card_id: int, *, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    """The consumer's own card's journals, newest first (card_statement)."""
    return card_statement(session, owned_card(session, card_id, consumer_id), limit=limit, cursor=cursor)


def card_statement(session: Session, card: Card, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The card's journals, newest first, each with what it changed and the balance after it; for the
    holder and for the merchant's staff alike (who may see the card)."""
    stmt = select(LedgerEntry.journal_id).where(LedgerEntry.card_id == card.id).distinct()
    if cursor:
        stmt = stmt.where(LedgerEntry.journal_id < decode_cursor(cursor))
    journal_ids = list(session.scalars(stmt.order_by(LedgerEntry.journal_id.desc()).limit(limit + 1)))
    more, journal_ids = len(journal_ids) > limit, journal_ids[:limit]
    if not journal_ids:
        return {"items": [], "next_cursor": None}
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.card_id == card.id,
                                                        LedgerEntry.journal_id.in_(journal_ids)))
    changes: dict[int, dict[str, int]] = {j: {"principal": 0, "bonus": 0, "uses": 0, "points": 0} for j in journal_ids}
    for entry in entries:
        changes[entry.journal_id][entry.bucket] += entry.amount
    journals = {j.id: j for j in session.scalars(select(Journal).where(Journal.id.in_(journal_ids)))}
    stores = dict(session.execute(select(Store.id, Store.name).where(
        Store.id.in_({j.store_id for j in journals.values() if j.store_id}))).tuples().all())
    # Balance after the newest journal on this page: today's balance less every later change.
    later = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.card_id == card.id, LedgerEntry.journal_id > journal_ids[0],
        LedgerEntry.bucket.in_(("principal", "bonus"))))
    balance = card.balance_fen - int(later)
    items = []
    for journal_id in journal_ids:
        change, journal = changes[journal_id], journals[journal_id]
        items.append({
            "id": journal_id, "type": journal.kind, "principal_fen": change["principal"],
            "bonus_fen": change["bonus"], "uses": change["uses"], "points": change["points"],
            "balance_after_fen": balance, "store_name": stores.get(journal.store_id),
            "created_at": iso(journal.created_at),
        })
        balance -= change["principal"] + change["bonus"]
    return {"items": items, "next_cursor": encode_cursor(journal_ids[-1]) if more else None}
