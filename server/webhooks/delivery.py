"""Handing deliveries to the queue and sending them.

- ``dispatch_due`` (the dispatcher sweep, run after every commit that wrote deliveries and every few
  seconds): claims each due delivery with a conditional UPDATE — of concurrent dispatchers exactly
  one gets it — and returns (delivery id, claim) pairs for the job queue.
- ``claim_for_sending`` + ``send`` + ``record_outcome`` (the delivery job): the job turns the
  dispatcher's claim into its own, again with a conditional UPDATE, so a job that runs twice (a
  duplicate, a second worker) sends once. The claim has a lease: a worker that dies mid-attempt
  leaves a delivery the sweep hands out again after the lease (at least once; receivers dedupe by id).

A 2xx within the timeout is delivered; anything else is retried after RETRY_DELAYS (about 28 hours in
all), then failed. Every attempt is recorded with its status code and at most 1 KB of the response.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from server.crypto import decrypt
from server.timeutil import iso
from server.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

#: Wait after the 1st, 2nd, … failed attempt of a round; after the last, the delivery is failed.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 120, 240, 480, 720))
#: Seconds an endpoint has to answer 2xx.
TIMEOUT_SECONDS = 10
#: Bytes of a response body kept.
BODY_LIMIT = 1024
#: A dispatcher's claim lapses after this (the job was lost); a sender's after SEND_LEASE.
DISPATCH_LEASE = timedelta(minutes=5)
SEND_LEASE = timedelta(minutes=2)
#: Deliveries one sweep hands out at most.
DISPATCH_BATCH = 200


def _token() -> str:
    return secrets.token_hex(16)


def _unclaimed(now: datetime):
    return or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now)


def dispatch_due(session: Session, now: datetime, limit: int = DISPATCH_BATCH) -> list[tuple[int, str]]:
    """Claim due pending deliveries for the queue; (delivery id, claim) for each one claimed."""
    due = list(session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
               _unclaimed(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    ))
    claimed = []
    for delivery_id in due:
        token = _token()
        won = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING,
                   _unclaimed(now))
            .values(claim_token=token, locked_until=now + DISPATCH_LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            claimed.append((delivery_id, token))
    return claimed


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends."""

    delivery_id: int
    claim: str
    url: str
    secret: str
    event_id: str
    body: bytes


def event_body(event: WebhookEvent) -> bytes:
    """The JSON document POSTed: ``{id, type, created_at, mode, merchant_id, data}``."""
    return json.dumps({"id": event.public_id, "type": event.type, "created_at": iso(event.created_at),
                       "mode": event.mode, "merchant_id": event.merchant_id, "data": event.data},
                      ensure_ascii=False, separators=(",", ":")).encode()


def claim_for_sending(
    session: Session, config: Mapping[str, Any], delivery_id: int, dispatch_claim: str, now: datetime
) -> Outgoing | None:
    """Take over the dispatcher's claim; None if another job already did (or the claim is stale).

    A delivery whose endpoint was deleted is failed without an attempt."""
    claim = _token()
    won = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == dispatch_claim,
               WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(claim_token=claim, locked_until=now + SEND_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return None
    delivery = session.get_one(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    if endpoint.deleted_at is not None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.claim_token = delivery.locked_until = None
        session.flush()
        return None
    event = session.get_one(WebhookEvent, delivery.event_id)
    return Outgoing(delivery_id, claim, endpoint.url, decrypt(config, endpoint.secret_encrypted), event.public_id,
                    event_body(event))


@dataclass(frozen=True)
class Response:
    status_code: int | None
    body: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(http: requests.Session, outgoing: Outgoing, timestamp: int) -> Response:
    """POST the event, signed at ``timestamp``; never raises for what the endpoint does."""
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: outgoing.event_id,
        SIGNATURE_HEADER: signature_header(outgoing.secret, timestamp, outgoing.body),
        "User-Agent": "Kabao-Webhooks/1",
    }
    started = time.monotonic()
    try:
        with http.post(outgoing.url, data=outgoing.body, headers=headers, timeout=TIMEOUT_SECONDS,
                       allow_redirects=False, stream=True) as answer:
            body = answer.raw.read(BODY_LIMIT, decode_content=True) or b""
            elapsed = time.monotonic() - started
            status = answer.status_code
    except requests.Timeout:
        return Response(None, None, "timeout", _ms(started))
    except requests.RequestException as exc:
        return Response(None, None, _reason(exc), _ms(started))
    text = _kept_text(body)
    if elapsed > TIMEOUT_SECONDS:
        return Response(status, text, "timeout", _ms(started))
    return Response(status, text, None, _ms(started))


def _kept_text(body: bytes) -> str:
    """The body as text, at most BODY_LIMIT bytes of UTF-8 (a character cut in half is dropped)."""
    text = body[:BODY_LIMIT].decode("utf-8", errors="replace")
    while len(text.encode()) > BODY_LIMIT:
        text = text[:-1]
    return text


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: Exception) -> str:
    text = str(exc)
    marker = text.find("blocked address")
    if marker >= 0:
        return text[marker:].split("'")[0].split(")")[0][:300]
    if "cannot resolve" in text:
        return "cannot resolve host"
    return f"{type(exc).__name__}"[:300]


def record_outcome(session: Session, outgoing: Outgoing, response: Response, now: datetime) -> WebhookDelivery:
    """Record the attempt, then deliver, schedule the retry or give up — unless the claim was lost
    (the lease ran out, or a redeliver reset it), in which case only the attempt is recorded."""
    delivery = session.get_one(WebhookDelivery, outgoing.delivery_id, populate_existing=True)
    session.add(WebhookAttempt(
        merchant_id=delivery.merchant_id, delivery_id=delivery.id, status_code=response.status_code,
        response_body=response.body, error=response.error, duration_ms=response.duration_ms, created_at=now,
    ))
    session.flush()
    claimed = session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery.id,
                                      WebhookDelivery.claim_token == outgoing.claim)
        .values(attempts=WebhookDelivery.attempts + 1, last_status_code=response.status_code,
                claim_token=None, locked_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(delivery)
    if claimed != 1:
        return delivery
    if response.ok and response.error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
    else:
        failures = delivery.attempts - delivery.round_start
        if failures > len(RETRY_DELAYS):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = now + RETRY_DELAYS[failures - 1]
    session.flush()
    return delivery
