"""Webhook endpoints and the outbox of events (Saleor's layout): the payload stored once per event,
a delivery per subscribed endpoint, and every attempt recorded with its response."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, one_of
from server.modes import Mode


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(CreatedAt, db.Model):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (one_of("mode", Mode),)

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: Where events are POSTed (http or https).
    url: Mapped[str] = mapped_column(String(2000))
    #: Event types the endpoint subscribes to, e.g. ["card.issued", "card.redeemed"].
    events: Mapped[list[Any]] = mapped_column(default=list)
    #: live or test: a test endpoint receives only test events (and the events both modes share).
    mode: Mapped[str] = mapped_column(String(10), default=Mode.LIVE)
    #: The signing secret, encrypted (server/crypto.py): we need it back to sign.
    secret_encrypted: Mapped[str] = mapped_column(String(300))
    #: Staff member who created it.
    created_by: Mapped[int | None] = mapped_column(BigId)
    #: When it was deleted; deleted endpoints receive nothing and are no longer listed.
    deleted_at: Mapped[datetime | None]


class WebhookEvent(CreatedAt, db.Model):
    """One event, written in the transaction of the change it reports."""

    __tablename__ = "webhook_events"
    __table_args__ = (one_of("mode", Mode),)

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: The id receivers dedupe by: evt_ and 24 hex characters.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Event type, e.g. card.redeemed.
    type: Mapped[str] = mapped_column(String(40))
    #: live or test.
    mode: Mapped[str] = mapped_column(String(10), default=Mode.LIVE)
    #: The event's ``data``: the card as staff see it, and the receipt / top-up / refund where there is one.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookDelivery(CreatedAt, db.Model):
    """One event to one endpoint, retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        one_of("status", DeliveryStatus),
        Index(None, "status", "next_attempt_at"),
        Index(None, "endpoint_id", "id"),
    )

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: The event delivered.
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_events.id"), index=True)
    #: The endpoint it goes to.
    endpoint_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_endpoints.id"))
    #: pending (being tried), delivered (a 2xx came back) or failed (gave up).
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    #: Attempts made so far, redeliveries included.
    attempts: Mapped[int] = mapped_column(default=0)
    #: ``attempts`` when the current round of retries began (0, or the count at the last redeliver).
    round_start: Mapped[int] = mapped_column(default=0)
    #: HTTP status of the last attempt (NULL: no answer — timeout, refused, blocked address).
    last_status_code: Mapped[int | None]
    #: When the next attempt is due (NULL once delivered or failed).
    next_attempt_at: Mapped[datetime | None]
    #: The claim of whoever is handing it on or sending it now; NULL when nobody is.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    #: The claim lapses at this time (a worker that died mid-attempt), so the delivery is tried again.
    locked_until: Mapped[datetime | None]
    #: When a 2xx came back.
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(CreatedAt, db.Model):
    """One POST of a delivery and what came back."""

    __tablename__ = "webhook_attempts"

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: The delivery tried.
    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_deliveries.id"), index=True)
    #: HTTP status; NULL when no response came (timeout, connection error, blocked address).
    status_code: Mapped[int | None]
    #: At most 1 KB of the response body.
    response_body: Mapped[str | None] = mapped_column(Text)
    #: Why there was no usable response, e.g. "timeout" or "blocked address 10.0.0.5".
    error: Mapped[str | None] = mapped_column(String(300))
    #: Milliseconds from sending to the answer (or the failure).
    duration_ms: Mapped[int] = mapped_column(default=0)
