"""`flask --app wsgi reconcile-payments`: lost notifies settled through orderquery, expired orders closed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from server.cards.models import Card
from server.db import utcnow
from server.payments.models import PaymentOrder
from server.wechat.adapters import get_payment_gateway
from tests.payments.support import new_card, order_row, place_top_up, wait_order_status


def _reconcile(live, minutes: int = 0):
    result = live.app.test_cli_runner().invoke(args=["reconcile-payments", "--older-than", str(minutes)])
    assert result.exit_code == 0, result.output
    return result.output


def _set(live, out_trade_no: str, **values) -> None:
    live.query(lambda s: (s.execute(update(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no)
                                    .values(**values)), s.commit()))


def _wechat_state(live, out_trade_no: str) -> str:
    with live.app.app_context():
        return get_payment_gateway().query_order(out_trade_no).trade_state


def test_lost_notify_is_settled_by_reconciliation(live, seller):
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 20000, 3000)
    paid = live.simulate_pay(out_trade_no, notify=False)

    assert "settled 0" in _reconcile(live, minutes=10)  # too recent for this run
    output = _reconcile(live)
    assert "settled 1, closed 0, still pending 0, errors 0" in output
    order = order_row(live, out_trade_no)
    assert (order.status, order.transaction_id) == ("paid", paid["transaction_id"])
    card = live.query(lambda s: s.get(Card, card_id))
    assert (card.principal_fen, card.bonus_fen) == (20000, 3000)
    assert live.notify_attempts(out_trade_no) == []  # settled without any notify
    assert "settled 0" in _reconcile(live)  # nothing left to do, nothing credited twice
    assert live.query(lambda s: s.get(Card, card_id).principal_fen) == 20000


def test_expired_unpaid_order_is_closed_here_and_at_wechat(live, seller):
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    expired, _ = place_top_up(live, seller, consumer_id, card_id, 1000)
    waiting, _ = place_top_up(live, seller, consumer_id, card_id, 2000)
    _set(live, expired, expires_at=utcnow() - timedelta(minutes=1))

    assert "settled 0, closed 1, still pending 1, errors 0" in _reconcile(live)
    assert order_row(live, expired).status == "closed"
    assert _wechat_state(live, expired) == "CLOSED"
    assert order_row(live, waiting).status == "pending"
    assert _wechat_state(live, waiting) == "NOTPAY"


def test_order_paid_at_wechat_but_closed_here_is_still_credited(live, seller):
    """WeChat took the money, so the order is credited even though we had given up on it."""
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 1500)
    _set(live, out_trade_no, status="closed")
    live.simulate_pay(out_trade_no)
    wait_order_status(live, out_trade_no, "paid")
    assert live.query(lambda s: s.get(Card, card_id).principal_fen) == 1500
