"""Mini-program: look at a batch (from a share or QR code) and claim a free card from it."""

from __future__ import annotations

from flask import current_app, jsonify

from miniprogram_api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.cards.face_links import face_links
from server.cards.serializers import serialize_card
from server.db import db
from server.issuance import services
from server.issuance.serializers import offer_to_dict
from server.schemas import Blueprint

blueprint = Blueprint("mp_batches", __name__, url_prefix="/api/v1/mp/batches", description="小程序：发行批次与领卡")


@blueprint.route("/<int:batch_id>", methods=["GET"])
@blueprint.alt_response(200, schema=docs.OfferSchema, success=True)
@require(PrincipalKind.CONSUMER)
def get_batch(batch_id: int):
    return jsonify(offer_to_dict(services.find_batch(db.session, batch_id), face_links()))


@blueprint.route("/<int:batch_id>/claim", methods=["POST"])
@blueprint.alt_response(201, schema=docs.WalletCardSchema, success=True)
@require(PrincipalKind.CONSUMER)
def claim(batch_id: int):
    """201 card; 409 SOLD_OUT, LIMIT_REACHED, or STATE_CONFLICT outside the batch's sale."""
    card, offer = services.claim(db.session, current_app.config, batch_id=batch_id, consumer_id=current_principal().id)
    return jsonify(serialize_card(card, offer.product, offer.merchant, face_links())), 201
