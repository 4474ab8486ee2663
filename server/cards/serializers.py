"""The card as docs/api.md shows it to its holder, shared by every consumer endpoint that returns a card."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.cards.face_links import FaceLinks
from server.cards.models import Card
from server.consumers.models import Consumer
from server.merchants.models import Merchant
from server.products.models import CardProduct
from server.products.services import product_fields
from server.timeutil import iso


def mask_card_no(card_no: str) -> str:
    """First and last four digits only (``6201 **** **** 1234``), whatever the length."""
    return f"{card_no[:4]} **** **** {card_no[-4:]}"


def mask_holder(openid: str) -> str:
    """A holder as staff may see them: the first and last three characters of their WeChat id."""
    return f"{openid[:3]}***{openid[-3:]}"


def product_summary(product: CardProduct) -> dict[str, Any]:
    """What a consumer may know about a product: its id and API fields (terms, validity, refund rule, …)."""
    return {"product_id": product.id, **product_fields(product)}


def serialize_card(card: Card, product: CardProduct, merchant: Merchant, links: FaceLinks | None) -> dict[str, Any]:
    """The card's fields; ``face_image_url`` where ``links`` can sign one (webhook events carry none)."""
    data = {
        "card_id": card.id,
        "card_no_masked": mask_card_no(card.card_no),
        "merchant": {"merchant_id": merchant.id, "name": merchant.name},
        "product": product_summary(product),
        "status": card.status,
        "balance_fen": card.balance_fen,
        "principal_fen": card.principal_fen,
        "bonus_fen": card.bonus_fen,
        "remaining_uses": card.uses_remaining,
        "points": card.points,
        "expires_at": iso(card.expires_at),
        "transferable": product.transferable,
        "batch_id": card.batch_id,
        "activated_at": iso(card.activated_at),
    }
    if links is not None:
        data["face_image_url"] = links.card(card.id)
    return data


def staff_card(session: Session, links: FaceLinks | None, card: Card) -> dict[str, Any]:
    """A card as staff see it: balances and status, the holder masked."""
    product = session.get(CardProduct, card.product_id)
    owner = session.get(Consumer, card.owner_id) if card.owner_id else None
    data = serialize_card(card, product, session.get(Merchant, card.merchant_id), links)
    data["owner"] = (
        {"consumer_id": owner.id, "openid_masked": mask_holder(owner.openid)} if owner else None
    )
    return data
