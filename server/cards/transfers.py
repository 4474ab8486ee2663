"""Transfers (转赠): a one-time token valid 24 hours hands a card to another consumer.

Accepting moves ownership, rotates the card secret (the giver may have revealed it) and retires any
live dynamic code, so the giver loses every way to use the card. No value moves between accounts, so
the records are the Transfer row and the audit log rather than a ledger journal.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.audit.services import record
from server.cards.dynamic_codes import retire_codes
from server.cards.events import record_card_event
from server.cards.models import Card, CardStatus, Transfer, TransferStatus
from server.cards.numbers import new_card_secret
from server.cards.services import owned_card
from server.crypto import encrypt
from server.errors import BusinessRuleError, CardNotActive, Conflict, NotFound
from server.ledger.services import lock_cards
from server.products.models import CardProduct

TRANSFER_TTL = timedelta(hours=24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def offer_transfer(session: Session, consumer_id: int, card_id: int, now: datetime) -> tuple[str, int]:
    """A new transfer token for the caller's card (earlier pending offers are cancelled)."""
    card = owned_card(session, card_id, consumer_id)
    product = session.get(CardProduct, card.product_id)
    if not product.transferable:
        raise BusinessRuleError("该卡不支持转赠", code="NOT_TRANSFERABLE")
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive(details={"status": card.status})
    session.execute(update(Transfer).where(Transfer.card_id == card.id, Transfer.status == TransferStatus.PENDING)
                    .values(status=TransferStatus.CANCELLED))
    token = secrets.token_urlsafe(24)
    session.add(Transfer(merchant_id=card.merchant_id, card_id=card.id, from_consumer_id=consumer_id,
                         token_hash=_digest(token), expires_at=now + TRANSFER_TTL))
    record(session, action="card.transfer_offer", actor_type="consumer", actor_id=consumer_id,
           merchant_id=card.merchant_id, target_type="card", target_id=card.id)
    session.flush()
    return token, int(TRANSFER_TTL.total_seconds())


def accept_transfer(session: Session, redis: Redis, config: Mapping[str, Any], consumer_id: int, token: str,
                    now: datetime) -> Card:
    """Take the card: one acceptance per token, only while the giver still holds an active card."""
    transfer = session.scalar(select(Transfer).where(Transfer.token_hash == _digest(token)).with_for_update())
    if transfer is None or transfer.status != TransferStatus.PENDING or transfer.expires_at <= now:
        raise NotFound("转赠链接无效或已过期")
    if transfer.from_consumer_id == consumer_id:
        raise Conflict("不能领取自己转赠的卡")
    card = lock_cards(session, [transfer.card_id])[transfer.card_id]
    if card.owner_id != transfer.from_consumer_id or card.status != CardStatus.ACTIVE:
        raise NotFound("转赠链接无效或已过期")
    card.owner_id = consumer_id
    card.secret_encrypted = encrypt(config, new_card_secret())
    transfer.status, transfer.to_consumer_id, transfer.accepted_at = TransferStatus.ACCEPTED, consumer_id, now
    retire_codes(redis, card.id)
    record(session, action="card.transfer_accept", actor_type="consumer", actor_id=consumer_id,
           merchant_id=card.merchant_id, target_type="card", target_id=card.id,
           detail={"from_consumer_id": transfer.from_consumer_id})
    session.flush()
    record_card_event(session, card, "card.transferred", transfer={
        "from_consumer_id": transfer.from_consumer_id, "to_consumer_id": consumer_id})
    return card
