"""Webhook endpoints of a merchant (owner only, checked by the views) and their delivery log.

Plain arguments and a session; flush only, the request boundary commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.crypto import encrypt
from server.errors import NotFound, ValidationError
from server.timeutil import iso
from server.webhooks.addresses import AddressPolicy
from server.webhooks.events import DELIVERIES_WRITTEN, EVENT_TYPES
from server.webhooks.models import DeliveryStatus, Mode, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.signing import new_secret

#: Endpoints one merchant may have.
MAX_ENDPOINTS = 20


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    #: The signing secret in plaintext: shown once, in the create response.
    secret: str


def check_subscription(url: str, events: Sequence[str], mode: str, policy: AddressPolicy) -> None:
    """400 VALIDATION_ERROR for a URL that is not http(s) or (in production) reaches a private
    address, an unknown event type or mode, or no events at all."""
    fields: dict[str, str] = {}
    problem = policy.check_url(url)
    if problem:
        fields["url"] = problem
    unknown = [name for name in events if name not in EVENT_TYPES]
    if unknown:
        fields["events"] = f"未知的事件类型: {', '.join(unknown)}"
    elif not events:
        fields["events"] = "至少订阅一个事件"
    if mode not in set(Mode):
        fields["mode"] = "取值应为: live, test"
    if fields:
        raise ValidationError(fields)


def create_endpoint(
    session: Session, config: Mapping[str, Any], policy: AddressPolicy, actor: Principal, *,
    url: str, events: Sequence[str], mode: str,
) -> NewEndpoint:
    check_subscription(url, events, mode, policy)
    count = len(list(session.scalars(_endpoints(actor.merchant_id))))
    if count >= MAX_ENDPOINTS:
        raise ValidationError({"url": f"最多可配置 {MAX_ENDPOINTS} 个回调地址"})
    secret = new_secret()
    endpoint = WebhookEndpoint(merchant_id=actor.merchant_id, url=url, events=list(dict.fromkeys(events)),
                               mode=mode, secret_encrypted=encrypt(config, secret), created_by=actor.id)
    session.add(endpoint)
    session.flush()
    record(session, action="webhook.create", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="webhook", target_id=endpoint.id, detail={"url": url, "events": endpoint.events, "mode": mode})
    return NewEndpoint(endpoint, secret)


def _endpoints(merchant_id: int) -> Select:
    return select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == merchant_id,
                                         WebhookEndpoint.deleted_at.is_(None))


def list_endpoints(merchant_id: int) -> Select:
    return _endpoints(merchant_id)


def get_endpoint(session: Session, merchant_id: int, webhook_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.merchant_id != merchant_id or endpoint.deleted_at is not None:
        raise NotFound("回调地址不存在")
    return endpoint


def delete_endpoint(session: Session, actor: Principal, webhook_id: int, now: datetime) -> None:
    """Stop sending to the endpoint; its delivery log is kept, deliveries still pending are failed."""
    endpoint = get_endpoint(session, actor.merchant_id, webhook_id)
    endpoint.deleted_at = now
    for delivery in session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.PENDING)):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    session.flush()
    record(session, action="webhook.delete", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="webhook", target_id=endpoint.id, detail={"url": endpoint.url})


def endpoint_to_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"webhook_id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "mode": endpoint.mode,
            "created_at": iso(endpoint.created_at)}


def deliveries_query(session: Session, merchant_id: int, webhook_id: int) -> Select:
    endpoint = get_endpoint(session, merchant_id, webhook_id)
    return select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)


def delivery_to_dict(session: Session, delivery: WebhookDelivery) -> dict[str, Any]:
    event = session.get_one(WebhookEvent, delivery.event_id)
    return {"delivery_id": delivery.id, "event_id": event.public_id, "event_type": event.type, "mode": event.mode,
            "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "next_attempt_at": iso(delivery.next_attempt_at),
            "delivered_at": iso(delivery.delivered_at), "created_at": iso(delivery.created_at)}


def last_attempts(session: Session, delivery_ids: Sequence[int]) -> dict[int, WebhookAttempt]:
    """The latest attempt of each delivery (what the delivery log shows beside it)."""
    latest = (select(func.max(WebhookAttempt.id)).where(WebhookAttempt.delivery_id.in_(delivery_ids))
              .group_by(WebhookAttempt.delivery_id))
    return {attempt.delivery_id: attempt
            for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.id.in_(latest)))}


def get_delivery(session: Session, merchant_id: int, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    endpoint = get_endpoint(session, merchant_id, webhook_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("投递记录不存在")
    return delivery


def redeliver(session: Session, actor: Principal, webhook_id: int, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send the event again now, with a fresh round of retries (whatever its status was)."""
    delivery = get_delivery(session, actor.merchant_id, webhook_id, delivery_id)
    delivery.status, delivery.next_attempt_at, delivery.round_start = DeliveryStatus.PENDING, now, delivery.attempts
    delivery.claim_token = delivery.locked_until = delivery.delivered_at = None
    session.flush()
    session.info[DELIVERIES_WRITTEN] = True
    record(session, action="webhook.redeliver", actor_type="staff", actor_id=actor.id,
           merchant_id=actor.merchant_id, target_type="webhook_delivery", target_id=delivery.id)
    return delivery
