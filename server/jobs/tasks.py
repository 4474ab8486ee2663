"""The job functions: each builds its adapters from the app, calls its services and commits."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app

from server.cards.expiry import expire_cards as expire
from server.cardwallet import sync as card_wallet
from server.db import db, utcnow
from server.idempotency import purge_expired
from server.jobs.queue import get_queue
from server.jobs.registry import job
from server.modes import Mode, use_mode
from server.notifications.services import JOB_BATCH, deliver_pending
from server.payments.tasks import reconcile_payments as reconcile
from server.webhooks.addresses import AddressPolicy, guarded_session
from server.webhooks.delivery import DISPATCH_BATCH, claim_for_sending, dispatch_due, record_outcome, send
from server.wechat.adapters import get_card_wallet_client, get_payment_gateway, get_wechat_client
from server.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)


@job("notifications.send")
def send_notifications(limit: int | None = None) -> dict[str, int]:
    """Send queued subscribe messages (one pass)."""
    report = deliver_pending(db.session, get_wechat_client(), current_app.config, limit or JOB_BATCH)
    db.session.commit()
    if report.handled >= (limit or JOB_BATCH):
        get_queue().enqueue("notifications.send")  # more may be waiting
    return {"sent": report.sent, "failed": report.failed, "retrying": report.retrying}


@job("webhooks.dispatch")
def dispatch_webhooks() -> int:
    """The dispatcher sweep: claim due deliveries and hand each to the queue."""
    claimed = dispatch_due(db.session, utcnow())
    db.session.commit()
    queue = get_queue()
    for delivery_id, claim in claimed:
        queue.enqueue("webhooks.deliver", job_id=f"webhook-delivery-{claim}", delivery_id=delivery_id, claim=claim)
    if len(claimed) >= DISPATCH_BATCH:
        queue.enqueue("webhooks.dispatch")
    return len(claimed)


@job("webhooks.deliver")
def deliver_webhook(delivery_id: int, claim: str) -> str | None:
    """One attempt of one delivery: claimed (committed) before the POST, recorded after it."""
    config = current_app.config
    outgoing = claim_for_sending(db.session, config, delivery_id, claim, utcnow())
    db.session.commit()
    if outgoing is None:
        return None  # a duplicate, or handed out again meanwhile
    with guarded_session(AddressPolicy.from_config(config)) as http:
        response = send(http, outgoing, int(time.time()))
    delivery = record_outcome(db.session, outgoing, response, utcnow())
    db.session.commit()
    return delivery.status


@job("payments.reconcile")
def reconcile_payments(older_than_minutes: int = 10) -> Any:
    """Settle or close orders (and refunds) whose notify never came; commits after each order."""
    return reconcile(db.session, get_payment_gateway(), current_app.config, older_than_minutes=older_than_minutes)


@job("cards.expire")
def expire_cards() -> Any:
    """Expire due cards of both modes' books (test cards age as live ones do)."""
    now, reports = utcnow(), {}
    for mode in Mode:
        use_mode(db.session, mode)
        reports[mode.value] = expire(db.session, now)
        db.session.commit()
    return reports


@job("idempotency.purge")
def purge_idempotency() -> int:
    removed = purge_expired(db.session, current_app.config["IDEMPOTENCY_RETENTION_HOURS"])
    db.session.commit()
    return removed


@job("cardwallet.dispatch")
def dispatch_card_wallet() -> dict[str, int]:
    """Hand due member-card creations and card pushes to the queue (nothing while sync is off)."""
    if get_card_wallet_client() is None:
        return {"create": 0, "push": 0}
    now = utcnow()
    member_cards = card_wallet.due_member_cards(db.session, now)
    links = card_wallet.due_links(db.session, now)
    db.session.rollback()
    queue = get_queue()
    for row_id in member_cards:
        queue.enqueue("cardwallet.create_card", member_card_id=row_id)
    for link_id, seq in links:
        queue.enqueue("cardwallet.push", job_id=f"card-wallet-push-{link_id}-{seq}", link_id=link_id)
    if max(len(member_cards), len(links)) >= card_wallet.DISPATCH_BATCH:
        queue.enqueue("cardwallet.dispatch")
    return {"create": len(member_cards), "push": len(links)}


@job("cardwallet.create_card")
def create_wechat_member_card(member_card_id: int) -> str | None:
    """card/create for a published product that opted in; claimed first, so a duplicate creates nothing."""
    client = get_card_wallet_client()
    if client is None:
        return None
    claim = card_wallet.claim_member_card(db.session, member_card_id, utcnow())
    db.session.commit()
    if claim is None:
        return None
    settings = WeChatSettings.from_config(current_app.config)
    creation = card_wallet.prepare_creation(db.session, member_card_id, claim, settings.public_base_url)
    db.session.commit()
    wx_card_id, error = card_wallet.call_create(client, creation)
    status = card_wallet.record_creation(db.session, creation, wx_card_id, error, utcnow())
    db.session.commit()
    return status


@job("cardwallet.push")
def push_card_wallet(link_id: int) -> str | None:
    """Activate or update one card in the holder's WeChat card wallet with its current values.

    Claimed (and committed) before WeChat is called; a failure is logged and retried later with
    growing delays; the card in Kabao is never touched."""
    client = get_card_wallet_client()
    if client is None:
        return None
    claim = card_wallet.claim_link(db.session, link_id, utcnow())
    db.session.commit()
    if claim is None:
        return None  # a duplicate, or WeChat already up to date
    push = card_wallet.prepare_push(db.session, link_id, claim, utcnow())
    db.session.commit()
    if isinstance(push, str):
        return push
    error = card_wallet.call_push(client, push)
    outcome = card_wallet.record_push(db.session, push, error, utcnow())
    db.session.commit()
    return outcome
