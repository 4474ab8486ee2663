"""Webhook events about a card: its ``data`` is the card as staff see it, plus what happened to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.cards.models import Card
from server.cards.serializers import staff_card
from server.cardwallet.services import request_sync
from server.webhooks.events import record_event


def card_data(session: Session, card: Card) -> dict[str, Any]:
    """The card as staff see it, with its full number: the event goes to the merchant's own system.

    No face image URL: those are signed for the mini-program and the console."""
    return {**staff_card(session, None, card), "card_no": card.card_no}


def record_card_event(session: Session, card: Card, type: str, *, merchant_has_endpoints: bool | None = None,
                      **extra: Any) -> None:
    """Record a card event whose ``data`` is ``{"card": …, **extra}`` (built only if someone listens).

    The event's mode is the card's: a test card's events go only to test endpoints. Every value
    change comes through here, so it also makes the card's WeChat card-wallet push due (if it has one)."""
    request_sync(session, card)
    record_event(session, merchant_id=card.merchant_id, type=type, mode=card.mode,
                 data=lambda: {"card": card_data(session, card), **extra},
                 merchant_has_endpoints=merchant_has_endpoints)
