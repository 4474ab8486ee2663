"""Printed cards (实体卡): created inactive with their batch, sold and activated at the counter, bound
by number and secret, reported lost and replaced (挂失、补办).

Plain arguments, flush only; the request boundary commits. Every status change goes through
CARD_LIFECYCLE, so a second activation or a replacement of a replaced card is 409 STATE_CONFLICT.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.cards.events import record_card_event
from server.cards.expiry import REACTIVATION_PERIOD
from server.cards.models import CARD_LIFECYCLE, Card, CardStatus
from server.cards.numbers import DEFAULT_LENGTH, generate_card_no, new_card_secret
from server.cards.services import card_expiry, insert_with_new_number, post_opening
from server.crypto import decrypt, encrypt, fernet
from server.db import utcnow
from server.errors import BusinessRuleError, CodeInvalid, Conflict, Forbidden, NotFound
from server.issuance.models import Batch, IssueMethod
from server.ledger.accounts import BUCKET_COLUMN, MerchantAccount, card_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, lock_cards, post_journal, transfer
from server.merchants.models import Store
from server.merchants.services import get_merchant, require_approved
from server.modes import mode_of
from server.products.models import CardProduct

#: Cards per INSERT when a physical batch creates its cards.
INSERT_CHUNK = 2_000
#: Rounds of drawing again the numbers that collided, per chunk, before giving up.
_REDRAWS = 8


class NotNamed(BusinessRuleError):
    code = "NOT_NAMED"
    message = "不记名卡不支持挂失和补办"


def amount_not_allowed(price_fen: int, paid_fen: int) -> BusinessRuleError:
    return BusinessRuleError(f"实收金额应等于批次售价 {price_fen / 100:.2f} 元", code="AMOUNT_NOT_ALLOWED",
                             details={"price_fen": price_fen, "paid_fen": paid_fen})


# --- a physical batch's cards ------------------------------------------------------------------------


def _draw_numbers(session: Session, prefix: str, length: int, count: int) -> list[str]:
    """``count`` distinct fresh card numbers none of which is taken yet: drawn together, checked in one
    query, and only the collisions drawn again. (A concurrent batch drawing the same number fails on
    the unique constraint at commit: 409, retry.)"""
    numbers: set[str] = set()
    for _ in range(_REDRAWS):
        drawn = {generate_card_no(prefix, length) for _ in range(count - len(numbers))} - numbers
        numbers |= drawn - set(session.scalars(select(Card.card_no).where(Card.card_no.in_(drawn))))
        if len(numbers) == count:
            break
    if len(numbers) != count:
        raise Conflict("该卡种的卡号即将用尽，请联系商户调整卡号规则")
    return sorted(numbers)


def create_printed_cards(session: Session, config: Mapping[str, Any], batch: Batch, product: CardProduct) -> int:
    """Insert the ``quantity`` unowned, inactive cards of a physical batch that just became active.

    Plain multi-row INSERTs of 2,000 cards, each with a number from the product's rule and an
    encrypted random secret; the batch's stock is then all issued (the cards exist, unsold)."""
    if batch.issue_method != IssueMethod.PHYSICAL or batch.issued_count:
        return 0
    rule = product.card_no_rule or {}
    prefix, length = rule.get("prefix") or "", rule.get("length") or DEFAULT_LENGTH
    box, now = fernet(config), utcnow()
    remaining = batch.quantity
    while remaining:
        count = min(INSERT_CHUNK, remaining)
        session.execute(insert(Card), [
            mode_of(session, {
                "merchant_id": batch.merchant_id, "product_id": product.id, "batch_id": batch.id, "card_no": number,
                "secret_encrypted": box.encrypt(new_card_secret().encode()).decode(), "status": CardStatus.INACTIVE,
                "principal_fen": 0, "bonus_fen": 0, "points": 0, "uses_remaining": 0, "created_at": now})
            for number in _draw_numbers(session, prefix, length, count)
        ])
        remaining -= count
    session.execute(update(Batch).where(Batch.id == batch.id).values(issued_count=Batch.quantity)
                    .execution_options(synchronize_session=False))
    session.expire(batch, ["issued_count"])
    return batch.quantity


# --- at the counter ----------------------------------------------------------------------------------


def _merchant_card(session: Session, actor: Principal, card_no: str) -> Card:
    """The caller's merchant's card by number, locked; another merchant's card is not found."""
    card_id = session.scalar(select(Card.id).where(Card.card_no == card_no, Card.merchant_id == actor.merchant_id))
    if card_id is None:
        raise NotFound("卡不存在")
    return lock_cards(session, [card_id])[card_id]


def _counter_store(session: Session, actor: Principal, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None or store.merchant_id != actor.merchant_id:
        raise NotFound("门店不存在")
    if actor.store_id is not None and actor.store_id != store_id:
        raise Forbidden("只能在本门店操作")
    if not store.active:
        raise Forbidden("门店已停用")
    return store


def activate_card(session: Session, actor: Principal, card_no: str, *, store_id: int, paid_fen: int) -> Card:
    """Sell a printed card at the counter: ``paid_fen`` (the batch price, taken at the till) opens it
    exactly as a purchase of its batch would, booked from ``till_clearing`` at ``store_id``."""
    require_approved(get_merchant(session, actor.merchant_id))
    store = _counter_store(session, actor, store_id)
    card = _merchant_card(session, actor, card_no)
    CARD_LIFECYCLE.target(card.status, "activate")  # 409 before anything else is said about the card
    batch = session.get_one(Batch, card.batch_id)
    if paid_fen != batch.price_fen:
        raise amount_not_allowed(batch.price_fen, paid_fen)
    product = session.get_one(CardProduct, card.product_id)
    now = utcnow()
    expires_at = card_expiry(product.validity or {}, now)
    if expires_at is not None and expires_at <= now:
        raise Conflict("卡种已过有效期，无法激活")
    CARD_LIFECYCLE.apply(card, "activate")
    card.activated_at, card.expires_at = now, expires_at
    session.flush()
    post_opening(session, card, product, batch, paid_fen, actor_type=ActorType.STAFF, actor_id=actor.id,
                 source=MerchantAccount.TILL_CLEARING, store_id=store.id, locked={card.id: card})
    record(session, action="card.activate", actor_type="staff", actor_id=actor.id, merchant_id=card.merchant_id,
           target_type="card", target_id=card.id, detail={"store_id": store.id, "paid_fen": paid_fen})
    record_card_event(session, card, "card.issued")
    return card


def _report_lost(session: Session, card: Card, *, actor_type: str, actor_id: int, reason: str | None = None) -> Card:
    if not session.get_one(CardProduct, card.product_id).named:
        raise NotNamed()
    CARD_LIFECYCLE.apply(card, "report_lost")
    session.flush()
    record(session, action="card.report_lost", actor_type=actor_type, actor_id=actor_id,
           merchant_id=card.merchant_id, target_type="card", target_id=card.id,
           detail={"reason": reason[:200]} if reason else None)
    return card


def report_lost_at_counter(session: Session, actor: Principal, card_no: str, reason: str | None = None) -> Card:
    """Freeze a named card on its holder's request at the counter (挂失); the member page gives a reason."""
    return _report_lost(session, _merchant_card(session, actor, card_no), actor_type="staff", actor_id=actor.id,
                        reason=reason)


def report_lost_by_holder(session: Session, consumer_id: int, card_id: int) -> Card:
    """Freeze one's own named card from the mini-program; anyone else's card is not found."""
    card = session.get(Card, card_id)
    if card is None or card.owner_id != consumer_id:
        raise NotFound("卡不存在")
    card = lock_cards(session, [card.id])[card.id]
    return _report_lost(session, card, actor_type="consumer", actor_id=consumer_id)


def _stock_card(session: Session, actor: Principal, card_no: str, product: CardProduct) -> Card:
    """An inactive printed card of the same product, to hand over as the replacement."""
    card = _merchant_card(session, actor, card_no)
    batch = session.get(Batch, card.batch_id) if card.batch_id else None
    if card.product_id != product.id or batch is None or batch.issue_method != IssueMethod.PHYSICAL:
        raise Conflict("新卡须为同一卡种的未激活实体卡", details={"field": "new_card_no"})
    CARD_LIFECYCLE.target(card.status, "activate")
    return card


def replacement_postings(old_id: int, new_id: int, balances: Mapping[str, int]) -> list[Posting]:
    """Every balance of the old card (column → amount), bucket by bucket, onto the new one."""
    return [posting for bucket, column in BUCKET_COLUMN.items()
            for posting in transfer(card_account(old_id, bucket), card_account(new_id, bucket), balances[column])]


def _replacement_expiry(old: Card, product: CardProduct, now: datetime) -> datetime | None:
    """Validity continues from the old card; an expired card's balance comes back for a new period,
    as a reactivation would give it (MOFCOM measures: reactivated or replaced)."""
    if old.expires_at is None or old.expires_at > now:
        return old.expires_at
    renewed = card_expiry(product.validity or {}, now)
    return renewed if renewed is None or renewed > now else now + REACTIVATION_PERIOD


def replace_card(session: Session, config: Mapping[str, Any], actor: Principal, card_no: str,
                 new_card_no: str | None = None) -> Card:
    """Replace a named card (补办): a new card of the same holder takes exactly its balances, uses and
    points in one journal, and the old card ends ``replaced``.

    The new card has a fresh number and secret, or is ``new_card_no``, an inactive printed card of the
    same product handed over at the counter. Validity continues from the old card (renewed if it had
    expired)."""
    old = _merchant_card(session, actor, card_no)
    product = session.get_one(CardProduct, old.product_id)
    if not product.named:
        raise NotNamed()
    CARD_LIFECYCLE.target(old.status, "replace")
    holder = {"owner_id": old.owner_id, "issued_to_id": old.issued_to_id, "activated_at": old.activated_at,
              "expires_at": _replacement_expiry(old, product, utcnow()), "replaces_card_id": old.id}
    if new_card_no:
        new = _stock_card(session, actor, new_card_no, product)
        locked = lock_cards(session, [old.id, new.id])
        old, new = locked[old.id], locked[new.id]
    moved = {column: getattr(old, column) for column in BUCKET_COLUMN.values()}
    # Written first: on SQLite a savepoint (the fresh number's insert) opened before any write commits.
    CARD_LIFECYCLE.apply(old, "replace")
    session.flush()
    if new_card_no:
        CARD_LIFECYCLE.apply(new, "activate")
        for name, value in holder.items():
            setattr(new, name, value)
    else:
        new = insert_with_new_number(session, product, {
            "merchant_id": old.merchant_id, "product_id": product.id, "batch_id": old.batch_id,
            "secret_encrypted": encrypt(config, new_card_secret()), "status": CardStatus.ACTIVE, **holder,
        })
    session.flush()
    postings = replacement_postings(old.id, new.id, moved)
    if postings:
        post_journal(session, merchant_id=old.merchant_id, kind=JournalKind.REPLACE, postings=postings,
                     actor_type=ActorType.STAFF, actor_id=actor.id, ref_type="card", ref_id=new.id,
                     memo=f"replaces card {old.id}", locked={old.id: old, new.id: new})
    record(session, action="card.replace", actor_type="staff", actor_id=actor.id, merchant_id=old.merchant_id,
           target_type="card", target_id=old.id,
           detail={"new_card_id": new.id, "from_stock": bool(new_card_no), **moved})
    record_card_event(session, new, "card.issued", replaces_card_no=old.card_no)
    return new


# --- binding in the mini-program ---------------------------------------------------------------------


def bind_printed_card(session: Session, config: Mapping[str, Any], *, card_no: str, secret: str,
                      consumer_id: int) -> Card:
    """Hand an active printed card nobody holds to the consumer who knows its number and secret.

    Everything else — unknown number, wrong secret, inactive, already held, not printed — is the one
    422 CODE_INVALID. The holder is set with a conditional UPDATE, so of concurrent binds one wins."""
    card = session.scalar(select(Card).where(Card.card_no == card_no.strip()))
    if card is None or not hmac.compare_digest(decrypt(config, card.secret_encrypted), secret.strip()):
        raise CodeInvalid()
    batch = session.get(Batch, card.batch_id) if card.batch_id else None
    if batch is None or batch.issue_method != IssueMethod.PHYSICAL:
        raise CodeInvalid()
    bound = session.execute(
        update(Card).where(Card.id == card.id, Card.owner_id.is_(None), Card.status == CardStatus.ACTIVE)
        .values(owner_id=consumer_id, issued_to_id=consumer_id).execution_options(synchronize_session=False)
    ).rowcount
    if bound != 1:
        raise CodeInvalid()
    session.expire(card, ["owner_id", "issued_to_id"])
    record(session, action="card.bind", actor_type="consumer", actor_id=consumer_id, merchant_id=card.merchant_id,
           target_type="card", target_id=card.id)
    record_card_event(session, card, "card.bound")
    return card
