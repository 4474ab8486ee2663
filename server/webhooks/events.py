"""The outbox: ``record_event`` writes an event and a delivery per subscribed endpoint into the
caller's transaction. A rolled-back change therefore sends nothing, and a committed one is in the
database before anything is sent — a process that dies right after the commit loses nothing: the
dispatcher sweep (server/webhooks/delivery.py) finds the pending deliveries.

Only flushes; the caller commits. Events nobody subscribes to are not stored at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.direct_writes import insert_row
from server.webhooks.models import DeliveryStatus, Mode, WebhookDelivery, WebhookEndpoint, WebhookEvent

#: Every event type of API.md.
EVENT_TYPES = (
    "card.issued", "card.bound", "card.topped_up", "card.redeemed", "redemption.reversed", "card.refunded",
    "card.transferred", "card.expired", "batch.approved", "product.reviewed",
)
#: Events about configuration both modes share go to the endpoints of both modes.
BOTH_MODES = frozenset({"batch.approved", "product.reviewed"})

#: session.info flag: this transaction wrote deliveries (the job queue is kicked after its commit).
DELIVERIES_WRITTEN = "kabao_webhook_deliveries"

_ENDPOINTS = select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.mode).where(
    WebhookEndpoint.merchant_id == bindparam("merchant_id"), WebhookEndpoint.deleted_at.is_(None)
)


def endpoints_exist(merchant_id: Any) -> Any:
    """SQL: the merchant (a column or value) has a webhook endpoint at all — for a hot path to read
    with what it reads anyway and pass to ``record_event`` as ``merchant_has_endpoints``."""
    return exists().where(WebhookEndpoint.merchant_id == merchant_id, WebhookEndpoint.deleted_at.is_(None))


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def record_event(
    session: Session,
    *,
    merchant_id: int,
    type: str,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    mode: str = Mode.LIVE,
    merchant_has_endpoints: bool | None = None,
) -> WebhookEvent | None:
    """Record ``type`` for every endpoint of the merchant that subscribes to it in ``mode``.

    ``data`` may be a function: it is called only when some endpoint subscribes (hot paths pay one
    indexed SELECT and nothing more when nobody listens — nothing at all when they read
    ``endpoints_exist`` already and pass it as ``merchant_has_endpoints``)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    if merchant_has_endpoints is False:
        return None
    endpoints = [
        row.id for row in session.execute(_ENDPOINTS, {"merchant_id": merchant_id})
        if type in (row.events or []) and (row.mode == mode or type in BOTH_MODES)
    ]
    if not endpoints:
        return None
    now = utcnow()
    event = insert_row(session, WebhookEvent(merchant_id=merchant_id, public_id=new_event_id(), type=type,
                                             mode=mode, data=dict(data() if callable(data) else data),
                                             created_at=now))
    session.add_all(WebhookDelivery(merchant_id=merchant_id, event_id=event.id, endpoint_id=endpoint_id,
                                    status=DeliveryStatus.PENDING, next_attempt_at=now, created_at=now)
                    for endpoint_id in endpoints)
    session.info[DELIVERIES_WRITTEN] = True
    return event
