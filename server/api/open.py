"""The open platform's HTTP API: the owner's API keys under /api/v1/merchant/api-keys, and the open API
under /open/v1/ for the merchant's own systems (ERP/CRM, shop, POS), called with those keys.

| method path                                   | scope        | service                          |
|-----------------------------------------------|--------------|----------------------------------|
| POST   /api/v1/merchant/api-keys              | (owner)      | keys.create_key                  |
| GET    /api/v1/merchant/api-keys              | (owner)      | keys.list_keys                   |
| DELETE /api/v1/merchant/api-keys/{id}         | (owner)      | keys.revoke_key                  |
| POST   /open/v1/cards                         | cards:write  | services.issue_member_card       |
| GET    /open/v1/cards?external_id=            | cards:read   | services.member_cards            |
| GET    /open/v1/cards/{card_no}               | cards:read   | services.card_view               |
| GET    /open/v1/cards/{card_no}/transactions  | cards:read   | services.card_transactions       |
| POST   /open/v1/cards/{card_no}/top-ups       | cards:write  | services.top_up                  |
| POST   /open/v1/redemptions                   | redeem       | services.redeem                  |
| POST   /open/v1/redemptions/{id}/reverse      | redeem       | services.reverse                 |
| GET    /open/v1/reports/summary               | reports:read | reports' scoped_summary          |
"""

from __future__ import annotations

from flask import Response, current_app, jsonify
from marshmallow import fields, validate

from server.auth import current_principal
from server.cards.face_links import face_links
from server.db import db
from server.extensions import get_redis
from server.idempotency import idempotent
from server.merchants.permissions import Action, staff_action
from server.open import keys, schemas, services
from server.open.auth import current_key, require_scope
from server.open.models import ApiKey, Scope
from server.pagination import PageArgs, paginate
from server.redemption.services import reversal_answer
from server.reports.schemas import SummaryArgs
from server.reports.services import scoped_summary
from server.schemas import Blueprint

api_keys = Blueprint("open_api_keys", __name__, url_prefix="/api/v1/merchant/api-keys",
                     description="开放平台：API 密钥（仅店主）")
blueprint = Blueprint("open_api", __name__, url_prefix="/open/v1",
                      description="开放 API：商户自有系统（ERP/CRM/电商/POS）以 API 密钥调用")

_ID = "int(max=9223372036854775807)"
# Security (ApiKey / StaffToken), the Idempotency-Key header and the error envelope of these operations are
# added to the OpenAPI document from the guards themselves (server/openapi.py).


# --- API keys (owner, staff token) ---------------------------------------------------------------


@api_keys.route("", methods=["POST"])
@api_keys.response(201, schemas.CreatedApiKeySchema, description="key 只在此返回一次")
@staff_action(Action.MANAGE_API_KEYS)
@api_keys.arguments(schemas.ApiKeyCreateSchema)
def create_api_key(body):
    created = keys.create_key(db.session, current_app.config, current_principal(), **body)
    response = jsonify({**keys.key_to_dict(created.row), "key": created.key})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@api_keys.route("", methods=["GET"])
@api_keys.response(200, schemas.ApiKeyPageSchema)
@staff_action(Action.MANAGE_API_KEYS)
@api_keys.arguments(PageArgs, location="query")
def list_api_keys(args):
    stmt = keys.list_keys(current_principal().merchant_id)
    return jsonify(paginate(db.session, stmt, ApiKey.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=keys.key_to_dict)), 200


@api_keys.route(f"/<{_ID}:api_key_id>", methods=["DELETE"])
@api_keys.response(204, description="已吊销：此后该密钥返回 401")
@staff_action(Action.MANAGE_API_KEYS)
def revoke_api_key(api_key_id: int):
    keys.revoke_key(db.session, current_principal(), api_key_id)
    return Response(status=204)


# --- the open API (API key) ----------------------------------------------------------------------


@blueprint.route("/cards", methods=["POST"])
@blueprint.response(201, schemas.IssuedCardSchema)
@require_scope(Scope.CARDS_WRITE)
@idempotent(encrypt_response=True)
@blueprint.arguments(schemas.IssueCardSchema)
def issue_card(body):
    """Issue a card of a claim or code batch to the merchant's member (自动绑卡), with a single-use bind code."""
    actor = current_key()
    issued = services.issue_member_card(db.session, current_app.config, actor, batch_id=body["batch_id"],
                                        member=services.MemberFields(**body["member"]))
    card = services.card_view(db.session, face_links(), actor, issued.card)
    response = jsonify({**card, "bind_code": issued.bind_code})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@blueprint.route("/cards", methods=["GET"])
@blueprint.response(200, schemas.CardPageSchema)
@require_scope(Scope.CARDS_READ)
@blueprint.arguments(schemas.MemberQuerySchema, location="query")
def member_cards(args):
    """The cards issued to one member (by the merchant's ``external_id``), newest first."""
    return jsonify(services.member_cards(db.session, face_links(), current_key(), args["external_id"],
                                         limit=args["limit"], cursor=args["cursor"])), 200


@blueprint.route("/cards/<card_no>", methods=["GET"])
@blueprint.response(200, schemas.CardSchema)
@require_scope(Scope.CARDS_READ)
def card(card_no: str):
    actor = current_key()
    return jsonify(services.card_view(db.session, face_links(), actor,
                                      services.merchant_card(db.session, actor.merchant_id, card_no))), 200


@blueprint.route("/cards/<card_no>/transactions", methods=["GET"])
@blueprint.response(200, schemas.TransactionPageSchema)
@require_scope(Scope.CARDS_READ)
@blueprint.arguments(PageArgs, location="query")
def card_transactions(args, card_no: str):
    return jsonify(services.card_transactions(db.session, current_key(), card_no, limit=args["limit"],
                                              cursor=args["cursor"])), 200


@blueprint.route("/cards/<card_no>/top-ups", methods=["POST"])
@blueprint.response(201, schemas.TopUpResultSchema)
@require_scope(Scope.CARDS_WRITE)
@idempotent
@blueprint.arguments(schemas.OpenTopUpSchema)
def top_up(body, card_no: str):
    """Credit money the merchant collected itself (booked to its external clearing account), with the
    product's tiers, bonus and legal cap exactly as a WeChat Pay top-up."""
    actor = current_key()
    row, card = services.top_up(db.session, actor, card_no=card_no, **body)
    return jsonify(top_up_id=row.id, external_order_no=row.external_order_no, amount_fen=row.amount_fen,
                   bonus_fen=row.bonus_fen, card=services.card_view(db.session, face_links(), actor, card)), 201


@blueprint.route("/redemptions", methods=["POST"])
@blueprint.response(200, schemas.ReceiptSchema)
@require_scope(Scope.REDEEM)
@idempotent
@blueprint.arguments(schemas.OpenRedeemSchema)
def redeem(body):
    """Redeem for an order of the merchant's own system (消费自动扣款), with every rule of the cashier's redeem."""
    return jsonify(services.redeem(db.session, get_redis(), current_app.config, current_key(),
                                   services.OpenRedeem(**body))), 200


@blueprint.route(f"/redemptions/<{_ID}:redemption_id>/reverse", methods=["POST"])
@blueprint.response(200, schemas.ReversalSchema)
@require_scope(Scope.REDEEM)
@idempotent
@blueprint.arguments(schemas.OpenReverseSchema)
def reverse(body, redemption_id: int):
    redemption = services.reverse(db.session, current_key(), redemption_id, body["reason"],
                                  current_app.config["REVERSAL_WINDOW_HOURS"])
    return jsonify(reversal_answer(db.session, redemption)), 200


class OpenSummaryArgs(SummaryArgs):
    """The merchant report's arguments; a store id no row can have is 400, not a database error."""

    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=schemas.MAX_ID))


@blueprint.route("/reports/summary", methods=["GET"])
@blueprint.response(200, schemas.ReportSchema)
@require_scope(Scope.REPORTS_READ)
@blueprint.arguments(OpenSummaryArgs, location="query")
def report_summary(args):
    """The merchant report of API.md (outstanding figures as of now)."""
    return jsonify(scoped_summary(db.session, current_key().staff, args["from_"], args["to"], args["store_id"])), 200
