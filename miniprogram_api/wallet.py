"""Mini-program: my cards, a card's dynamic code and QR image, its transactions, transfers."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from marshmallow import fields, validate

from miniprogram_api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.cards import transfers, wallet
from server.cards.dynamic_codes import QR_PREFIX, resolve_code
from server.cards.face_links import face_links
from server.cards.qr import render_qr_png
from server.cards.serializers import serialize_card
from server.db import db, utcnow
from server.errors import NotFound
from server.extensions import get_redis
from server.idempotency import HEADER, idempotent
from server.merchants.models import Merchant
from server.open.schemas import TransactionPageSchema
from server.openapi import BINARY
from server.pagination import PageArgs
from server.payments import card_refunds, top_ups
from server.products.models import CardProduct
from server.rewards import services as rewards
from server.schemas import Blueprint, Fen, Schema
from server.web import client_ip
from server.wechat.adapters import get_payment_gateway

blueprint = Blueprint("mp_wallet", __name__, url_prefix="/api/v1/mp", description="小程序：卡包")
consumer_only = require(PrincipalKind.CONSUMER)


@blueprint.route("/cards", methods=["GET"])
@blueprint.alt_response(200, schema=docs.WalletCardListSchema, success=True)
@consumer_only
def my_cards():
    return jsonify(items=wallet.my_cards(db.session, face_links(), current_principal().id))


@blueprint.route("/cards/<int:card_id>", methods=["GET"])
@blueprint.alt_response(200, schema=docs.WalletCardSchema, success=True)
@consumer_only
def my_card(card_id: int):
    """The caller's card; another consumer's card is 404, never 403."""
    return jsonify(wallet.my_card(db.session, face_links(), current_principal().id, card_id))


@blueprint.route("/cards/<int:card_id>/codes", methods=["POST"])
@blueprint.alt_response(201, schema=docs.DynamicCodeSchema, success=True)
@consumer_only
def new_code(card_id: int):
    """A dynamic code for the counter: QR payload and 18-digit number, valid 60 seconds, single use."""
    code = wallet.new_code(db.session, get_redis(), current_principal().id, card_id, utcnow())
    token = code.qr_payload.removeprefix(QR_PREFIX)
    qr_url = f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/mp/qr/{token}.png"
    response = jsonify(qr_payload=code.qr_payload, numeric_code=code.numeric_code, expires_in=code.expires_in,
                       qr_png_url=qr_url)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@blueprint.route("/qr/<token>.png", methods=["GET"])
@blueprint.alt_response(200, schema=BINARY, content_type="image/png", success=True, description="二维码图片")
def qr_png(token: str):
    """The QR image of a live code. The unguessable token in the URL is the credential, as in the QR."""
    payload = QR_PREFIX + token
    if resolve_code(get_redis(), payload) is None:
        raise NotFound("码已失效，请刷新")
    return Response(render_qr_png(payload), content_type="image/png",
                    headers={"Cache-Control": "private, max-age=60, immutable"})


@blueprint.route("/cards/<int:card_id>/transactions", methods=["GET"])
@blueprint.alt_response(200, schema=TransactionPageSchema, success=True)
@consumer_only
@blueprint.arguments(PageArgs, location="query")
def card_transactions(args, card_id: int):
    return jsonify(wallet.transactions(db.session, current_principal().id, card_id, limit=args["limit"],
                                       cursor=args["cursor"]))


@blueprint.route("/cards/<int:card_id>/transfers", methods=["POST"])
@blueprint.alt_response(201, schema=docs.TransferOfferSchema, success=True)
@consumer_only
def offer_transfer(card_id: int):
    token, expires_in = transfers.offer_transfer(db.session, current_principal().id, card_id, utcnow())
    return jsonify(transfer_token=token, expires_in=expires_in), 201


@blueprint.route("/transfers/<transfer_token>/accept", methods=["POST"])
@blueprint.alt_response(200, schema=docs.WalletCardSchema, success=True)
@consumer_only
def accept_transfer(transfer_token: str):
    card = transfers.accept_transfer(db.session, get_redis(), current_app.config, current_principal().id,
                                     transfer_token, utcnow())
    product = db.session.get(CardProduct, card.product_id)
    return jsonify(serialize_card(card, product, db.session.get(Merchant, card.merchant_id), face_links()))


class TopUpRequestSchema(Schema):
    amount_fen = Fen(required=True, validate=validate.Range(min=1))


class RefundRequestSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=200))


@blueprint.route("/cards/<int:card_id>/top-up-options", methods=["GET"])
@blueprint.alt_response(200, schema=docs.TopUpOptionsSchema, success=True)
@consumer_only
def top_up_options(card_id: int):
    """Tiers with their bonus and the room left under the legal cap, shown before paying."""
    return jsonify(top_ups.options(db.session, current_principal().id, card_id))


@blueprint.route("/cards/<int:card_id>/top-ups", methods=["POST"])
@blueprint.alt_response(201, schema=docs.PaymentOrderSchema, success=True)
@consumer_only
@idempotent
@blueprint.arguments(TopUpRequestSchema)
def top_up(body, card_id: int):
    """A WeChat Pay order; principal and bonus are credited once, when payment is confirmed."""
    order, pay_params = top_ups.start_top_up(
        db.session, get_payment_gateway(), consumer_id=current_principal().id, card_id=card_id,
        amount_fen=body["amount_fen"], client_ip=client_ip(),
        idempotency_key=request.headers.get(HEADER),
    )
    return jsonify(order_no=order.out_trade_no, amount_fen=order.amount_fen, bonus_fen=order.bonus_fen,
                   pay_params=pay_params), 201


@blueprint.route("/cards/<int:card_id>/refund-quote", methods=["GET"])
@blueprint.alt_response(200, schema=docs.RefundQuoteSchema, success=True)
@consumer_only
def refund_quote(card_id: int):
    """What a refund would pay back now (refund, fee, forfeited bonus), shown before the consumer confirms."""
    return jsonify(card_refunds.quote_refund(db.session, consumer_id=current_principal().id, card_id=card_id,
                                        now=utcnow()))


@blueprint.route("/cards/<int:card_id>/refund", methods=["POST"])
@blueprint.alt_response(201, schema=docs.CardRefundSchema, success=True)
@consumer_only
@idempotent
@blueprint.arguments(RefundRequestSchema)
def refund(body, card_id: int):
    """Refund the card's unused principal through WeChat (cooling-off, fee and forfeited bonus applied)."""
    record = card_refunds.refund_card(db.session, get_payment_gateway(), consumer_id=current_principal().id,
                                 card_id=card_id, reason=body["reason"], now=utcnow())
    return jsonify(refund_no=record.refund_no, refund_fen=record.refund_fen, fee_fen=record.fee_fen,
                   forfeited_bonus_fen=record.forfeited_bonus_fen, status=record.status), 201


@blueprint.route("/cards/<int:card_id>/rewards", methods=["GET"])
@blueprint.alt_response(200, schema=docs.RewardListSchema, success=True)
@consumer_only
def card_rewards(card_id: int):
    """The merchant's rewards this card's points could be exchanged for (积分兑换)."""
    return jsonify(items=rewards.consumer_rewards(db.session, current_principal().id, card_id),
                   points=wallet.my_card(db.session, face_links(), current_principal().id, card_id)["points"])


@blueprint.route("/cards/<int:card_id>/rewards/<int:reward_id>/exchange", methods=["POST"])
@blueprint.alt_response(201, schema=docs.RewardExchangeSchema, success=True)
@consumer_only
@idempotent
def exchange_reward(card_id: int, reward_id: int):
    """Exchange points for a reward: 201 the exchange; 422 INSUFFICIENT_POINTS; 409 SOLD_OUT."""
    return jsonify(rewards.consumer_exchange(db.session, current_principal().id, card_id, reward_id)), 201
