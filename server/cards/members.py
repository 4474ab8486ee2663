"""Members (会员) as the merchant's staff see them: finding a card, its page, and status changes.

Search takes what a person at the counter or on the phone has: a full card number, its last digits,
or — through ``MEMBER_LOOKUPS`` — a member's phone number or external member id, which the open
platform (members issued from the merchant's own CRM) registers. Status changes follow CARD_LIFECYCLE,
always with a reason, always audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import record
from server.auth import Principal
from server.cards.expiry import reactivate_card
from server.cards.models import CARD_LIFECYCLE, Card
from server.cards.serializers import mask_card_no, mask_holder
from server.cards.wallet import card_statement
from server.consumers.models import Consumer
from server.errors import NotFound, ValidationError
from server.issuance.models import Batch, Channel
from server.ledger.services import lock_cards
from server.products.models import CardProduct

#: Search results shown at most.
SEARCH_LIMIT = 20
#: Card-number digits enough to search by the end of the number.
MIN_SUFFIX = 4

#: Further ways to find a member's cards: ``lookup(session, merchant_id, query) -> card ids``. The open
#: platform adds the lookup by external member id and by (masked) mobile number of its members.
MemberLookup = Callable[[Session, int, str], list[int]]
MEMBER_LOOKUPS: list[MemberLookup] = []

#: The status changes of the member page: event → (audit action, what the page calls it).
STATUS_EVENTS = {"freeze": ("card.freeze", "冻结"), "unfreeze": ("card.unfreeze", "解冻"),
                 "reactivate": ("card.reactivate", "重新激活")}
#: Audit actions shown as the card's status history.
_HISTORY_ACTIONS = ("card.freeze", "card.unfreeze", "card.reactivate", "card.refund", "card.transfer_accept",
                    "card.report_lost", "card.replace", "card.activate")


def search_cards(session: Session, merchant_id: int, query: str) -> list[dict[str, Any]]:
    """Cards of the merchant matching ``query``: a whole card number, its last 4+ digits, or whatever a
    registered member lookup understands (phone, external member id). Newest first."""
    text = re.sub(r"[\s-]", "", query)  # card numbers are read out in groups
    if not text:
        return []
    ids: set[int] = set()
    stmt = select(Card.id).where(Card.merchant_id == merchant_id)
    if text.isdigit() and len(text) >= MIN_SUFFIX:
        ids |= set(session.scalars(stmt.where(Card.card_no == text)))
        ids |= set(session.scalars(stmt.where(Card.card_no.like(f"%{text}")).limit(SEARCH_LIMIT)))
    spaceless = re.sub(r"\s", "", query)  # external ids may hold dashes: lookups keep them
    for lookup in MEMBER_LOOKUPS:
        ids |= set(lookup(session, merchant_id, spaceless))
    if not ids:
        return []
    rows = session.execute(
        select(Card, CardProduct).join(CardProduct, CardProduct.id == Card.product_id)
        .where(Card.id.in_(ids), Card.merchant_id == merchant_id).order_by(Card.id.desc()).limit(SEARCH_LIMIT)
    ).all()
    return [_summary(session, card, product) for card, product in rows]


def _summary(session: Session, card: Card, product: CardProduct) -> dict[str, Any]:
    owner = session.get(Consumer, card.owner_id) if card.owner_id else None
    return {
        "card_id": card.id, "card_no": card.card_no, "card_no_masked": mask_card_no(card.card_no),
        "product_name": product.name, "kind": product.kind, "named": product.named, "status": card.status,
        "holder_masked": mask_holder(owner.openid) if owner else None,
        "balance_fen": card.balance_fen, "principal_fen": card.principal_fen, "bonus_fen": card.bonus_fen,
        "remaining_uses": card.uses_remaining, "points": card.points, "expires_at": card.expires_at,
        "activated_at": card.activated_at, "created_at": card.created_at,
    }


def _own_card(session: Session, merchant_id: int, card_no: str) -> Card:
    card = session.scalar(select(Card).where(Card.card_no == card_no))
    if card is None or card.merchant_id != merchant_id:
        raise NotFound("卡不存在")
    return card


def member_card(session: Session, merchant_id: int, card_no: str, *, limit: int = 20,
                cursor: str | None = None) -> dict[str, Any]:
    """The card page: the card, its product, batch and channel, its statement and its status history."""
    card = _own_card(session, merchant_id, card_no)
    product = session.get(CardProduct, card.product_id)
    batch = session.get(Batch, card.batch_id) if card.batch_id else None
    channel = session.get(Channel, batch.channel_id) if batch else None
    history = session.scalars(
        select(AuditEntry).where(AuditEntry.merchant_id == merchant_id, AuditEntry.target_type == "card",
                                 AuditEntry.target_id == card.id, AuditEntry.action.in_(_HISTORY_ACTIONS))
        .order_by(AuditEntry.id.desc())
    ).all()
    return {
        **_summary(session, card, product),
        "product": product, "batch": batch, "channel": channel,
        "events": [event for event in STATUS_EVENTS if CARD_LIFECYCLE.allows(card.status, event)],
        # The physical-cards work's counter actions: selling (activating) a printed card, and report-lost
        # (挂失) and replacement (补办) of a named card.
        "may_activate": product.form == "physical" and CARD_LIFECYCLE.allows(card.status, "activate"),
        "may_report_lost": product.named and CARD_LIFECYCLE.allows(card.status, "report_lost"),
        "may_replace": product.named and CARD_LIFECYCLE.allows(card.status, "replace"),
        "statement": card_statement(session, card, limit=limit, cursor=cursor),
        "history": history,
    }


def change_status(session: Session, actor: Principal, card_no: str, event: str, reason: str,
                  now: datetime) -> Card:
    """Freeze, unfreeze or reactivate a card (CARD_LIFECYCLE decides what may happen), with the reason
    in the audit log. A frozen card redeems as CARD_NOT_ACTIVE until it is unfrozen."""
    if event not in STATUS_EVENTS:
        raise ValidationError({"event": "不支持的操作"})
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "请填写原因"})
    if event == "reactivate":
        return reactivate_card(session, actor, card_no, now, reason)
    card = _own_card(session, actor.merchant_id, card_no)
    card = lock_cards(session, [card.id])[card.id]
    before, after = CARD_LIFECYCLE.apply(card, event)
    session.flush()
    record(session, action=STATUS_EVENTS[event][0], actor_type="staff", actor_id=actor.id,
           merchant_id=card.merchant_id, target_type="card", target_id=card.id,
           detail={"from": before.value, "to": after.value, "reason": reason[:200]})
    return card
