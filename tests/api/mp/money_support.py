"""What the money-rule tests of the mini-program need: a WeChat Pay that records what it is asked,
the holder's token, and paid top-up orders behind a card (the payments that a refund goes back to)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from server.consumers.models import Consumer
from server.db import db, utcnow
from server.payments.models import PaymentOrder
from server.products.models import CardProduct
from server.wechat import RefundResult

_keys = itertools.count(1)


@dataclass
class RecordingPay:
    """WeChat Pay as the consumer's money sees it: orders placed and refunds asked for, in order."""

    orders: list[dict] = field(default_factory=list)
    refunds: list[tuple[str, int]] = field(default_factory=list)
    pay_notify_url: str = "http://127.0.0.1:5000/api/v1/wechat/pay/notify"
    refund_notify_url: str = "http://127.0.0.1:5000/api/v1/wechat/refund/notify"
    #: Direct mode: one merchant account takes every payment.
    partner: bool = False

    def create_order(self, **order) -> str:
        self.orders.append(order)
        return f"wx{uuid.uuid4().hex[:20]}"

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        return {"timeStamp": "0", "nonceStr": "n", "package": f"prepay_id={prepay_id}", "signType": "MD5",
                "paySign": "s"}

    def refund(self, *, out_trade_no, out_refund_no, total_fen, refund_fen, notify_url, reason,
               sub_mchid=None) -> RefundResult:
        self.refunds.append((out_trade_no, refund_fen))
        return RefundResult(out_refund_no=out_refund_no, refund_id=f"wr{uuid.uuid4().hex[:20]}",
                            out_trade_no=out_trade_no, transaction_id=None, refund_fee=refund_fen,
                            total_fee=total_fen)


def holder_headers(app, issue_token) -> dict[str, str]:
    """The token of the consumer who holds the counter's cards."""
    with app.app_context():
        consumer_id = db.session.query(Consumer.id).filter_by(openid="o_holder_openid").scalar()
    return issue_token(kind="consumer", id=consumer_id)


def configure(app, product_id: int, **fields) -> None:
    with app.app_context():
        product = db.session.get(CardProduct, product_id)
        for name, value in fields.items():
            setattr(product, name, value)
        db.session.commit()


def paid_order(app, card_id: int, amount_fen: int, *, refunded_fen: int = 0, status: str = "paid",
               hours_ago: int = 1) -> str:
    """A top-up of ``amount_fen`` the holder paid through WeChat for ``card_id``; returns its number."""
    from server.cards.models import Card

    with app.app_context():
        card = db.session.get(Card, card_id)
        number = f"T{next(_keys):04d}{uuid.uuid4().hex[:16]}"
        paid_at = utcnow() - timedelta(hours=hours_ago)
        db.session.add(PaymentOrder(
            merchant_id=card.merchant_id, consumer_id=card.owner_id, card_id=card_id, purpose="top_up",
            out_trade_no=number, amount_fen=amount_fen, status=status, refunded_fen=refunded_fen,
            paid_at=paid_at if status != "pending" else None, expires_at=paid_at + timedelta(hours=2),
            client_ip="127.0.0.1",
        ))
        db.session.commit()
    return number
