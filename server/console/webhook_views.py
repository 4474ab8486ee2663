"""Webhook pages of the merchant console (owner only): endpoints — created with the secret shown
once, listed, deleted — and each endpoint's delivery log with a redeliver button."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, g, render_template, request

from server.console import pages
from server.console.auth import console_login_required
from server.console.forms import load_form
from server.console.merchant_views import blueprint
from server.console.pages import see_other
from server.db import db, utcnow
from server.merchants.permissions import Action
from server.pagination import paginate
from server.webhooks import services
from server.webhooks.addresses import AddressPolicy
from server.webhooks.events import EVENT_TYPES
from server.webhooks.models import WebhookDelivery, WebhookEndpoint
from server.webhooks.schemas import CreateWebhookSchema

#: Chinese names of the events, delivery statuses and modes shown on the pages.
EVENT_NAMES = {
    "card.issued": "发卡", "card.bound": "绑卡", "card.topped_up": "充值到账", "card.redeemed": "核销",
    "redemption.reversed": "核销冲正", "card.refunded": "退卡退款", "card.transferred": "转赠",
    "card.expired": "卡过期", "batch.approved": "批次审批通过", "product.reviewed": "卡种审核结果",
}
STATUS_NAMES = {"pending": "投递中", "delivered": "已送达", "failed": "已失败"}
MODE_NAMES = {"live": "正式", "test": "测试"}


def _names() -> dict[str, Any]:
    return {"event_names": EVENT_NAMES, "status_names": STATUS_NAMES, "mode_names": MODE_NAMES,
            "event_types": EVENT_TYPES}


def _webhooks_page(new_secret: str | None = None, created: Any = None) -> str:
    endpoints = list(db.session.scalars(services.list_endpoints(g.principal.merchant_id)
                                        .order_by(WebhookEndpoint.id.desc())))
    return render_template("console/webhooks.html", endpoints=endpoints, new_secret=new_secret, created=created,
                           **_names())


@blueprint.get("/webhooks")
@console_login_required(Action.MANAGE_WEBHOOKS)
def webhooks() -> str:
    return _webhooks_page()


@blueprint.post("/webhooks")
@pages.shows_errors_on("console.webhooks")
@console_login_required(Action.MANAGE_WEBHOOKS)
def create_webhook() -> str:
    """Shows the new endpoint's secret on this page, once (never in a redirect, a cookie or a log)."""
    form = load_form(CreateWebhookSchema(), {"url": request.form.get("url", ""),
                                             "events": request.form.getlist("events"),
                                             "mode": request.form.get("mode") or "live"})
    config = current_app.config
    new = services.create_endpoint(db.session, config, AddressPolicy.from_config(config), g.principal, **form)
    return _webhooks_page(new_secret=new.secret, created=new.endpoint)


@blueprint.post("/webhooks/<int:webhook_id>/delete")
@pages.shows_errors_on("console.webhooks")
@console_login_required(Action.MANAGE_WEBHOOKS)
def delete_webhook(webhook_id: int) -> Response:
    services.delete_endpoint(db.session, g.principal, webhook_id, utcnow())
    flash("回调地址已删除，不再向其发送事件")
    return see_other(".webhooks")


@blueprint.get("/webhooks/<int:webhook_id>")
@console_login_required(Action.MANAGE_WEBHOOKS)
def webhook_deliveries(webhook_id: int) -> str:
    endpoint = services.get_endpoint(db.session, g.principal.merchant_id, webhook_id)
    page = paginate(db.session, services.deliveries_query(db.session, g.principal.merchant_id, webhook_id),
                    WebhookDelivery.id, limit=20, cursor=request.args.get("cursor"),
                    serialize=lambda delivery: services.delivery_to_dict(db.session, delivery))
    attempts = services.last_attempts(db.session, [delivery["delivery_id"] for delivery in page["items"]])
    return render_template("console/webhook.html", endpoint=endpoint, page=page, attempts=attempts, **_names())


@blueprint.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@pages.shows_errors_on("console.webhook_deliveries")
@console_login_required(Action.MANAGE_WEBHOOKS)
def redeliver(webhook_id: int, delivery_id: int) -> Response:
    services.redeliver(db.session, g.principal, webhook_id, delivery_id, utcnow())
    flash("已重新加入投递队列")
    return see_other(".webhook_deliveries", webhook_id=webhook_id)
