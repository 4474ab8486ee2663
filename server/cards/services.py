"""Issuing cards (number, secret, expiry, opening journal) and revealing a card's secret to its owner.

Plain arguments, flush only: the request boundary — or a payment-settlement job — commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.services import record
from server.cards.events import record_card_event
from server.cards.models import Card, CardStatus
from server.cards.numbers import CARD_NO_ATTEMPTS, card_no_settings, generate_card_no, new_card_secret
from server.crypto import decrypt, encrypt
from server.db import utcnow
from server.errors import Conflict, NotFound
from server.issuance.models import Batch
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, Journal, JournalKind
from server.ledger.services import Posting, post_journal, transfer
from server.products.models import CardKind, CardProduct
from server.timeutil import SHANGHAI

#: A fixed validity ends at the last second of its end date, Shanghai time.
_END_OF_DAY = time(23, 59, 59)


def card_expiry(validity: Mapping[str, Any], activated_at: datetime) -> datetime | None:
    """When a card activated at ``activated_at`` expires: None for permanent products."""
    kind = validity.get("type", "permanent")
    if kind == "fixed":
        end = date.fromisoformat(validity["end"])
        return datetime.combine(end, _END_OF_DAY, tzinfo=SHANGHAI)
    if kind == "relative":
        return activated_at + timedelta(days=int(validity["days"]))
    return None


def opening_postings(product: CardProduct, card_id: int, paid_fen: int,
                     source: MerchantAccount = MerchantAccount.WECHAT_CLEARING) -> list[Posting]:
    """The value a new card opens with, and where it comes from.

    ``source`` is where the paid amount was taken: WeChat clearing for a sale in the mini-program, the
    till (``till_clearing``) for a printed card sold at the counter, external clearing for a card the
    merchant sold through its own systems (the open API).

    - stored_value: the paid amount is principal (from ``source``); face value above the price —
      all of it on a free claim or gift code — is bonus from promotion. Free value is a gift, so like
      any bonus it is never refunded in cash (the consumer gets back at most what they paid) and its
      cost shows up in promotion.
    - count: the product's uses (from uses issuance), plus the paid amount as principal, so a refund
      can return the price pro rata to the remaining uses.
    - points / discount: the card holds no value; a price paid for one is a membership fee,
      recognised as revenue at once.
    """
    m = product.merchant_id
    clearing = merchant_account(m, source)
    kind = CardKind(product.kind)
    if kind == CardKind.STORED_VALUE:
        if paid_fen > product.face_value_fen:
            raise ValueError("a stored-value card cannot be sold above its face value")
        return [
            *transfer(clearing, card_account(card_id, CardBucket.PRINCIPAL), paid_fen),
            *transfer(merchant_account(m, MerchantAccount.PROMOTION), card_account(card_id, CardBucket.BONUS),
                       product.face_value_fen - paid_fen),
        ]
    if kind == CardKind.COUNT:
        return [
            *transfer(merchant_account(m, MerchantAccount.USES_ISSUANCE), card_account(card_id, CardBucket.USES),
                       product.uses),
            *transfer(clearing, card_account(card_id, CardBucket.PRINCIPAL), paid_fen),
        ]
    return transfer(clearing, merchant_account(m, MerchantAccount.REVENUE), paid_fen)


def _card_issued_under(session: Session, merchant_id: int, idempotency_key: str) -> Card | None:
    journal = session.scalar(
        select(Journal).where(Journal.merchant_id == merchant_id, Journal.idempotency_key == idempotency_key)
    )
    return session.get(Card, journal.ref_id) if journal is not None and journal.ref_type == "card" else None


def insert_with_new_number(session: Session, product: CardProduct, fields: dict[str, Any]) -> Card:
    """Insert the card under a fresh random number; retry when the number is taken.

    The lookup avoids almost every collision; a concurrent twin drawing the same number is caught by
    the unique constraint inside a SAVEPOINT, so only that attempt is undone. (On SQLite a savepoint
    opened before the transaction's first write is released as a commit, so callers write first —
    taking stock, marking a code, settling an order — as every issuing path does.)"""
    prefix, length = card_no_settings(product.card_no_rule)
    for _ in range(CARD_NO_ATTEMPTS):
        card_no = generate_card_no(prefix, length)
        if session.scalar(select(Card.id).where(Card.card_no == card_no)) is not None:
            continue
        card = Card(card_no=card_no, **fields)
        try:
            with session.begin_nested():
                session.add(card)
        except IntegrityError:
            if session.scalar(select(Card.id).where(Card.card_no == card_no)) is None:
                raise  # not a number collision
            continue
        return card
    raise Conflict("该卡种的卡号即将用尽，请联系商户调整卡号规则")


def issue_card(
    session: Session,
    config: Mapping[str, Any],
    *,
    product: CardProduct,
    batch: Batch,
    owner_id: int | None,
    paid_fen: int,
    actor_type: ActorType,
    actor_id: int | None,
    idempotency_key: str | None = None,
    source: MerchantAccount = MerchantAccount.WECHAT_CLEARING,
) -> Card:
    """Issue one active card of ``product`` from ``batch`` to consumer ``owner_id``, with its opening journal.

    ``owner_id`` is None for a card issued to a merchant's own member (the open API) that nobody has
    bound in the mini-program yet.

    ``paid_fen`` is what the consumer paid for it (0 for a free claim or gift code); see
    opening_postings for the accounting. The caller has already taken the card from the batch's
    stock and checked the sale rules. With ``idempotency_key`` (e.g. ``purchase:<order_no>``),
    stored on the opening journal, a repeat returns the first card; a concurrent repeat fails on the
    journal's unique key and rolls back. Paid issuance always books a journal, so it is always keyed."""
    if product.id != batch.product_id:
        raise ValueError("the batch sells another product")
    if idempotency_key is not None:
        existing = _card_issued_under(session, batch.merchant_id, idempotency_key)
        if existing is not None:
            return existing
    now = utcnow()
    expires_at = card_expiry(product.validity or {}, now)
    if expires_at is not None and expires_at <= now:
        raise Conflict("卡种已过有效期，无法发卡")
    card = insert_with_new_number(session, product, {
        "merchant_id": product.merchant_id,
        "product_id": product.id,
        "batch_id": batch.id,
        "secret_encrypted": encrypt(config, new_card_secret()),
        "owner_id": owner_id,
        "issued_to_id": owner_id,
        "status": CardStatus.ACTIVE,
        "activated_at": now,
        "expires_at": expires_at,
    })
    post_opening(session, card, product, batch, paid_fen, actor_type=actor_type, actor_id=actor_id,
                 source=source, idempotency_key=idempotency_key)
    record_card_event(session, card, "card.issued")
    return card


def post_opening(
    session: Session,
    card: Card,
    product: CardProduct,
    batch: Batch,
    paid_fen: int,
    *,
    actor_type: ActorType,
    actor_id: int | None,
    source: MerchantAccount = MerchantAccount.WECHAT_CLEARING,
    store_id: int | None = None,
    idempotency_key: str | None = None,
    locked: Mapping[int, Card] | None = None,
) -> Journal | None:
    """Book the opening journal of a card just issued or activated (none when it opens empty and free).

    ``locked`` holds the card when the caller already locked it (see ``post_journal``)."""
    postings = opening_postings(product, card.id, paid_fen, source)
    if not postings:
        return None
    return post_journal(
        session,
        merchant_id=product.merchant_id,
        kind=JournalKind.ISSUE,
        postings=postings,
        actor_type=actor_type,
        actor_id=actor_id,
        store_id=store_id,
        ref_type="card",
        ref_id=card.id,
        idempotency_key=idempotency_key,
        memo=f"batch {batch.id}",
        locked=locked,
    )


def owned_card(session: Session, card_id: int, consumer_id: int) -> Card:
    """The consumer's own card; anyone else's is simply not found."""
    card = session.get(Card, card_id)
    if card is None or card.owner_id != consumer_id:
        raise NotFound("卡不存在")
    return card


def reveal_secret(
    session: Session, config: Mapping[str, Any], *, card_id: int, consumer_id: int, ip: str | None
) -> dict[str, str]:
    """Card number and decrypted secret, for the owner only; each reveal is audited (without the secret)."""
    card = owned_card(session, card_id, consumer_id)
    record(session, action="card.reveal", actor_type="consumer", actor_id=consumer_id, merchant_id=card.merchant_id,
           target_type="card", target_id=card.id, ip=ip)
    return {"card_no": card.card_no, "secret": decrypt(config, card.secret_encrypted)}
