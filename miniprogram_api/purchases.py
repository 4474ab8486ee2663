"""POST /api/v1/mp/batches/{batch_id}/purchase: a WeChat Pay order for one card of a purchase batch.

The card is issued when the payment is confirmed (notify or reconciliation), never here.
"""

from __future__ import annotations

from flask import jsonify, request

from miniprogram_api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.consumers.models import Consumer
from server.db import db
from server.errors import Unauthenticated
from server.idempotency import HEADER, idempotent
from server.payments.purchases import start_purchase
from server.schemas import Blueprint
from server.web import client_ip
from server.wechat.adapters import get_payment_gateway

blueprint = Blueprint("mp_purchases", __name__, url_prefix="/api/v1/mp/batches", description="小程序购卡")


@blueprint.route("/<int:batch_id>/purchase", methods=["POST"])
@blueprint.alt_response(201, schema=docs.PaymentOrderSchema, success=True)
@require(PrincipalKind.CONSUMER)
@idempotent
def purchase(batch_id: int):
    """Order one card; pay with ``wx.requestPayment(pay_params)``, then poll GET /mp/orders/{order_no}."""
    consumer = db.session.get(Consumer, current_principal().id)
    if consumer is None:
        raise Unauthenticated()
    order, pay_params = start_purchase(
        db.session,
        get_payment_gateway(),
        consumer=consumer,
        batch_id=batch_id,
        client_ip=client_ip(),
        idempotency_key=request.headers.get(HEADER),
    )
    return jsonify(order_no=order.out_trade_no, amount_fen=order.amount_fen, pay_params=pay_params), 201
