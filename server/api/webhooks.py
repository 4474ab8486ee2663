"""Merchant API: webhook endpoints, their delivery log and redelivery (owner only)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, jsonify
from marshmallow import fields

from server.auth import current_principal
from server.db import db, utcnow
from server.merchants.permissions import Action, staff_action
from server.pagination import PageArgs, paginate
from server.schemas import Blueprint
from server.webhooks import services
from server.webhooks.addresses import AddressPolicy
from server.webhooks.models import WebhookDelivery, WebhookEndpoint
from server.webhooks.schemas import CreateWebhookSchema

blueprint = Blueprint("webhooks", __name__, url_prefix="/api/v1/merchant/webhooks", description="事件回调（Webhook）")


# Response documents (OpenAPI only: the views answer with jsonify, as the other API views do).


class WebhookOut(ma.Schema):
    webhook_id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    mode = fields.String(required=True)
    created_at = fields.String()


class CreatedWebhookOut(WebhookOut):
    secret = fields.String(required=True, metadata={"description": "签名密钥，仅在此响应中出现一次"})


class DeliveryOut(ma.Schema):
    delivery_id = fields.Integer(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    mode = fields.String()
    status = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)
    created_at = fields.String()


class WebhookPage(ma.Schema):
    items = fields.List(fields.Nested(WebhookOut), required=True)
    next_cursor = fields.String(allow_none=True)


class DeliveryPage(ma.Schema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)
    next_cursor = fields.String(allow_none=True)


@blueprint.route("", methods=["POST"])
@staff_action(Action.MANAGE_WEBHOOKS)
@blueprint.arguments(CreateWebhookSchema)
@blueprint.alt_response(201, schema=CreatedWebhookOut, success=True)
def create_webhook(body):
    """Subscribe a URL to events; the signing ``secret`` is shown only in this response."""
    config = current_app.config
    policy = AddressPolicy.from_config(config)
    created = services.create_endpoint(db.session, config, policy, current_principal(), **body)
    return jsonify({**services.endpoint_to_dict(created.endpoint), "secret": created.secret}), 201


@blueprint.route("", methods=["GET"])
@staff_action(Action.MANAGE_WEBHOOKS)
@blueprint.arguments(PageArgs, location="query")
@blueprint.alt_response(200, schema=WebhookPage, success=True)
def list_webhooks(args):
    return jsonify(paginate(db.session, services.list_endpoints(current_principal().merchant_id), WebhookEndpoint.id,
                            limit=args["limit"], cursor=args["cursor"], serialize=services.endpoint_to_dict))


@blueprint.route("/<int:webhook_id>", methods=["DELETE"])
@staff_action(Action.MANAGE_WEBHOOKS)
@blueprint.alt_response(204, description="已删除", success=True)
def delete_webhook(webhook_id: int):
    services.delete_endpoint(db.session, current_principal(), webhook_id, utcnow())
    return Response(status=204)


@blueprint.route("/<int:webhook_id>/deliveries", methods=["GET"])
@staff_action(Action.MANAGE_WEBHOOKS)
@blueprint.arguments(PageArgs, location="query")
@blueprint.alt_response(200, schema=DeliveryPage, success=True)
def list_deliveries(args, webhook_id: int):
    stmt = services.deliveries_query(db.session, current_principal().merchant_id, webhook_id)
    return jsonify(paginate(db.session, stmt, WebhookDelivery.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=lambda delivery: services.delivery_to_dict(db.session, delivery)))


@blueprint.route("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@staff_action(Action.MANAGE_WEBHOOKS)
@blueprint.alt_response(202, schema=DeliveryOut, success=True)
def redeliver(webhook_id: int, delivery_id: int):
    """Send the event again now (202: it is queued)."""
    delivery = services.redeliver(db.session, current_principal(), webhook_id, delivery_id, utcnow())
    return jsonify(services.delivery_to_dict(db.session, delivery)), 202
