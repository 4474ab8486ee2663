"""The ``data`` of events: the card as staff see it, plus the receipt / top-up / refund where there is one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.webhooks.events import record_event
from server.webhooks.models import Mode

# Serializers are imported when an event is built: the services that record events are theirs too.


def card_data(session: Session, card: Any) -> dict[str, Any]:
    """The card as staff see it, with its full number: the event goes to the merchant's own system."""
    from server.cards.serializers import staff_card

    return {**staff_card(session, card), "card_no": card.card_no}


def record_card_event(session: Session, card: Any, type: str, **extra: Any) -> None:
    """Record a card event whose ``data`` is ``{"card": …, **extra}`` (built only if someone listens).

    The event's mode is the card's (``card.mode`` once test cards exist; live until then)."""
    record_event(session, merchant_id=card.merchant_id, type=type, mode=getattr(card, "mode", None) or Mode.LIVE,
                 data=lambda: {"card": card_data(session, card), **extra})


def record_batch_approved(session: Session, batch: Any) -> None:
    """batch.approved: the batch as the merchant API shows it, once both approvals made it active."""

    def data() -> dict[str, Any]:
        from server.issuance.serializers import batch_to_dict
        from server.issuance.services import approvals_of

        return {"batch": batch_to_dict(batch, approvals_of(session, [batch.id])[batch.id])}

    record_event(session, merchant_id=batch.merchant_id, type="batch.approved", data=data)


def record_product_reviewed(session: Session, product: Any, decision: str) -> None:
    """product.reviewed: the platform's decision and the product as it now stands."""

    def data() -> dict[str, Any]:
        from server.cards.serializers import product_summary

        return {"decision": decision, "product": {**product_summary(product), "status": product.status,
                                                  "review_comment": product.review_comment}}

    record_event(session, merchant_id=product.merchant_id, type="product.reviewed", data=data)
