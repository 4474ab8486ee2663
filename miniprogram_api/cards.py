"""Mini-program: bind a card (redemption code or a printed card's CARDNO:SECRET), report it lost, reveal
its number and secret."""

from __future__ import annotations

from flask import current_app, jsonify

from miniprogram_api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.cards.face_links import face_links
from server.cards.physical import report_lost_by_holder
from server.cards.serializers import serialize_card
from server.cards.services import reveal_secret
from server.cardwallet.services import add_card_params, mark_added
from server.db import db
from server.errors import CodeInvalid
from server.extensions import get_redis
from server.issuance.codes import bind_code
from server.issuance.schemas import BindCodeSchema
from server.issuance.services import find_batch
from server.ledger.models import ActorType
from server.open.services import bind_member_card
from server.ratelimit import FailureLimit, throttle
from server.schemas import Blueprint
from server.web import client_ip
from server.wechat.adapters import get_card_wallet_client

blueprint = Blueprint("mp_cards", __name__, url_prefix="/api/v1/mp/cards", description="小程序：我的卡")

#: Wrong codes a consumer may try per 10 minutes; codes have ~79 bits, so this only stops scripted guessing.
BIND_FAILURES_PER_CONSUMER = FailureLimit("bind:consumer", limit=5, window_seconds=600)
#: Per address, looser: many phones share a carrier's address, but one address cycling accounts is caught.
BIND_FAILURES_PER_IP = FailureLimit("bind:ip", limit=30, window_seconds=600)
#: Reveals per consumer per hour.
REVEALS_PER_HOUR = 10


@blueprint.route("/bind", methods=["POST"])
@blueprint.alt_response(201, schema=docs.WalletCardSchema, success=True)
@require(PrincipalKind.CONSUMER)
@blueprint.arguments(BindCodeSchema)
def bind(body):
    """201 card; one uniform 422 CODE_INVALID; 429 with Retry-After after 5 failures in 10 minutes.

    The code is a redemption code, or the bind code of a card the merchant issued to its member
    through the open API."""
    consumer_id, redis = current_principal().id, get_redis()
    subjects = {BIND_FAILURES_PER_CONSUMER: str(consumer_id), BIND_FAILURES_PER_IP: client_ip()}
    for limit, subject in subjects.items():
        limit.check(redis, subject)
    try:
        card, offer = (bind_member_card(db.session, current_app.config, code=body["code"], consumer_id=consumer_id)
                       or bind_code(db.session, current_app.config, code=body["code"], consumer_id=consumer_id,
                                    actor_type=ActorType.CONSUMER, actor_id=consumer_id))
    except CodeInvalid:
        for limit, subject in subjects.items():
            limit.record_failure(redis, subject)
        raise
    return jsonify(serialize_card(card, offer.product, offer.merchant, face_links())), 201


@blueprint.route("/<int:card_id>/report-lost", methods=["POST"])
@blueprint.alt_response(200, schema=docs.WalletCardSchema, success=True)
@require(PrincipalKind.CONSUMER)
def report_lost(card_id: int):
    """The holder freezes their own named card (挂失); 422 NOT_NAMED for an unnamed card, 404 for others'."""
    card = report_lost_by_holder(db.session, current_principal().id, card_id)
    offer = find_batch(db.session, card.batch_id)
    return jsonify(serialize_card(card, offer.product, offer.merchant, face_links()))


@blueprint.route("/<int:card_id>/reveal", methods=["POST"])
@blueprint.alt_response(200, schema=docs.RevealedSecretSchema, success=True)
@require(PrincipalKind.CONSUMER)
def reveal(card_id: int):
    """The owner's card number and secret (another consumer's card is 404); throttled and audited."""
    consumer_id = current_principal().id
    throttle(get_redis(), f"reveal:{consumer_id}", limit=REVEALS_PER_HOUR, window_seconds=3600)
    secret = reveal_secret(db.session, current_app.config, card_id=card_id, consumer_id=consumer_id, ip=client_ip())
    response = jsonify(secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/<int:card_id>/wechat-card", methods=["GET"])
@blueprint.alt_response(200, schema=docs.WeChatCardSchema, success=True)
@require(PrincipalKind.CONSUMER)
def wechat_card(card_id: int):
    """What ``wx.addCard({cardList: [{cardId, cardExt}]})`` needs to put the card into the consumer's
    WeChat card wallet; 422 WECHAT_CARD_UNAVAILABLE when it cannot go there (another's card is 404)."""
    return jsonify(add_card_params(db.session, get_card_wallet_client(), consumer_id=current_principal().id,
                                   card_id=card_id))


@blueprint.route("/<int:card_id>/wechat-card/added", methods=["POST"])
@blueprint.alt_response(202, schema=docs.WeChatCardAddedSchema, success=True)
@require(PrincipalKind.CONSUMER)
def wechat_card_added(card_id: int):
    """wx.addCard succeeded: the card is activated in WeChat with its values, in the background (202)."""
    link = mark_added(db.session, consumer_id=current_principal().id, card_id=card_id)
    return jsonify({"status": link.status}), 202
