"""Cashier API: redeem, reverse, look up a card, list redemptions."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, jsonify
from marshmallow import fields, validate

from server.auth import current_principal
from server.cards.expiry import reactivate_card
from server.cards.face_links import face_links
from server.db import db, utcnow
from server.extensions import get_redis
from server.idempotency import idempotent
from server.merchants.permissions import Action, staff_action
from server.pagination import PageArgs, paginate
from server.redemption import services
from server.redemption.models import Redemption
from server.schemas import Blueprint, Fen, Schema, StrictInt
from server.timeutil import day_bounds

blueprint = Blueprint("redemption", __name__, url_prefix="/api/v1/merchant", description="核销与冲正")


class RedeemSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    store_id = StrictInt(required=True)
    amount_fen = Fen(load_default=0)
    uses = StrictInt(load_default=1, validate=validate.Range(min=1, max=1000))
    redeem_points = StrictInt(load_default=0, validate=validate.Range(min=0))


class ReverseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RedemptionListArgs(PageArgs):
    store_id = fields.Integer(load_default=None)
    staff_id = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["completed", "reversed"]))
    date = fields.Date(load_default=None)
    to = fields.Date(load_default=None, data_key="to")
    from_ = fields.Date(load_default=None, data_key="from")

    @ma.validates_schema
    def one_range(self, data, **kwargs) -> None:
        if data.get("date") and (data.get("from_") or data.get("to")):
            raise ma.ValidationError("date 与 from/to 只能二选一", field_name="date")


@blueprint.route("/redeem", methods=["POST"])
@staff_action(Action.REDEEM)
@idempotent
@blueprint.arguments(RedeemSchema)
def redeem(body):
    """Redeem a scanned QR payload, an 18-digit numeric code or CARDNO:SECRET at a store."""
    receipt = services.redeem(db.session, get_redis(), current_app.config, current_principal(),
                              services.RedeemRequest(**body))
    return jsonify(receipt)


@blueprint.route("/redemptions/<int:redemption_id>/reverse", methods=["POST"])
@staff_action(Action.REVERSE)
@idempotent
@blueprint.arguments(ReverseSchema)
def reverse(body, redemption_id: int):
    return reversal_response(services.reverse(db.session, current_principal(), redemption_id, body["reason"],
                                              current_app.config["REVERSAL_WINDOW_HOURS"]))


def reversal_response(redemption: Redemption) -> Response:
    """The reversal's answer, for the API and the console alike."""
    row = services.redemption_row(db.session, redemption)
    return jsonify(reversal_id=redemption.reversal_journal_id or redemption.id, redemption=row,
                   card={key: row[key] for key in ("card_id", "card_no_masked", "balance_fen", "principal_fen",
                                                   "bonus_fen", "remaining_uses", "points_balance")})


@blueprint.route("/redemptions", methods=["GET"])
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
@staff_action(Action.VIEW_CARDS)
def card(card_no: str):
    return jsonify(services.staff_card_view(db.session, face_links(), current_principal(), card_no))


@blueprint.route("/cards/<card_no>/reactivate", methods=["POST"])
@staff_action(Action.REACTIVATE_CARDS)
def reactivate(card_no: str):
    """Reactivate an expired card; its remaining balance was kept as the regulation requires."""
    reactivate_card(db.session, current_principal(), card_no, utcnow())
    return jsonify(services.staff_card_view(db.session, face_links(), current_principal(), card_no))
