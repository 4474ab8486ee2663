"""Cashier API: redeem, reverse, look up a card, list redemptions."""

from __future__ import annotations

from flask import current_app, jsonify

from server.api import docs_schemas as docs
from server.auth import current_principal
from server.cards.expiry import reactivate_card
from server.cards.face_links import face_links
from server.db import db, utcnow
from server.extensions import get_redis
from server.idempotency import idempotent
from server.merchants.permissions import Action, staff_action
from server.open import schemas as open_schemas
from server.pagination import paginate
from server.redemption import services
from server.redemption.models import Redemption
from server.redemption.schemas import RedeemSchema, RedemptionListArgs, ReverseSchema
from server.schemas import Blueprint
from server.timeutil import day_bounds

blueprint = Blueprint("redemption", __name__, url_prefix="/api/v1/merchant", description="核销与冲正")


@blueprint.route("/redeem", methods=["POST"])
@blueprint.alt_response(200, schema=open_schemas.ReceiptSchema, success=True)
@staff_action(Action.REDEEM)
@idempotent
@blueprint.arguments(RedeemSchema)
def redeem(body):
    """Redeem a scanned QR payload, an 18-digit numeric code or CARDNO:SECRET at a store."""
    receipt = services.redeem(db.session, get_redis(), current_app.config, current_principal(),
                              services.RedeemRequest(**body))
    return jsonify(receipt)


@blueprint.route("/redemptions/<int:redemption_id>/reverse", methods=["POST"])
@blueprint.alt_response(200, schema=open_schemas.ReversalSchema, success=True)
@staff_action(Action.REVERSE)
@idempotent
@blueprint.arguments(ReverseSchema)
def reverse(body, redemption_id: int):
    redemption = services.reverse(db.session, current_principal(), redemption_id, body["reason"],
                                  current_app.config["REVERSAL_WINDOW_HOURS"])
    return jsonify(services.reversal_answer(db.session, redemption))


@blueprint.route("/redemptions", methods=["GET"])
@blueprint.alt_response(200, schema=docs.RedemptionPageSchema, success=True)
@staff_action(Action.VIEW_REDEMPTIONS)
@blueprint.arguments(RedemptionListArgs, location="query")
def redemptions(args):
    first, last = (args["date"], args["date"]) if args["date"] else (args["from_"], args["to"])
    since, until = day_bounds(first, last)
    stmt = services.redemptions_query(current_principal(), store_id=args["store_id"], staff_id=args["staff_id"],
                                      status=args["status"], since=since, until=until)
    return jsonify(paginate(db.session, stmt, Redemption.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=lambda r: services.redemption_row(db.session, r)))


@blueprint.route("/cards/<card_no>", methods=["GET"])
@blueprint.alt_response(200, schema=open_schemas.CardSchema, success=True)
@staff_action(Action.VIEW_CARDS)
def card(card_no: str):
    return jsonify(services.staff_card_view(db.session, face_links(), current_principal(), card_no))


@blueprint.route("/cards/<card_no>/reactivate", methods=["POST"])
@blueprint.alt_response(200, schema=open_schemas.CardSchema, success=True)
@staff_action(Action.REACTIVATE_CARDS)
def reactivate(card_no: str):
    """Reactivate an expired card; its remaining balance was kept as the regulation requires."""
    reactivate_card(db.session, current_principal(), card_no, utcnow())
    return jsonify(services.staff_card_view(db.session, face_links(), current_principal(), card_no))
