"""POST /api/v1/mp/batches/{batch_id}/purchase → pay in WeChat → the card is issued by settlement."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from server.cards.models import Card
from server.db import utcnow
from server.issuance.models import Batch
from server.ledger.services import verify_ledger
from server.payments.models import PaymentOrder, Refund, RefundAllocation
from tests import issuance_support
from tests.payments.support import order_row, wait_for, wait_order_status


def _buy(live, headers, batch_id: int, key: str | None = None):
    return live.post(f"/api/v1/mp/batches/{batch_id}/purchase",
                     headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def _purchase_batch(live, seller, **fields) -> int:
    fields = {"issue_method": "purchase", "price_fen": 8000, "quantity": 10, **fields}
    return issuance_support.batch(live.app, seller.merchant_id, seller.product_id, **fields)


def _cards_of(live, consumer_id: int) -> list[Card]:
    def load(session):
        cards = list(session.scalars(select(Card).where(Card.owner_id == consumer_id)))
        session.expunge_all()
        return cards

    return live.query(load)


def _issued_count(live, batch_id: int) -> int:
    return live.query(lambda s: s.get(Batch, batch_id).issued_count)


def test_purchase_then_payment_issues_one_card(live, seller):
    batch_id = _purchase_batch(live, seller)
    consumer_id, headers = live.login()
    key = uuid.uuid4().hex
    response = _buy(live, headers, batch_id, key)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount_fen"] == 8000 and body["order_no"].startswith("P")
    assert set(body["pay_params"]) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert _buy(live, headers, batch_id, key).json() == body  # a retried request replays the answer
    assert _cards_of(live, consumer_id) == [] and _issued_count(live, batch_id) == 0

    live.simulate_pay(body["order_no"])
    live.wait_acknowledged(body["order_no"])
    [card] = _cards_of(live, consumer_id)
    assert (card.batch_id, card.issued_to_id, card.principal_fen, card.bonus_fen) == (batch_id, consumer_id, 8000, 2000)
    assert _issued_count(live, batch_id) == 1
    order = live.get(f"/api/v1/mp/orders/{body['order_no']}", headers=headers).json()
    assert (order["status"], order["card_id"], order["amount_fen"]) == ("paid", card.id, 8000)
    assert live.query(verify_ledger) == []


def test_purchase_refusals(live, seller, issue_token):
    _, headers = live.login()
    claim_batch = issuance_support.batch(live.app, seller.merchant_id, seller.product_id, issue_method="claim")
    free_batch = _purchase_batch(live, seller, price_fen=0)
    paused = _purchase_batch(live, seller, status="paused")

    assert _buy(live, headers, 999999).status_code == 404
    for batch_id in (claim_batch, free_batch, paused):
        refused = _buy(live, headers, batch_id)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "STATE_CONFLICT"
    missing_key = live.post(f"/api/v1/mp/batches/{_purchase_batch(live, seller)}/purchase", headers=headers)
    assert missing_key.status_code == 400 and "Idempotency-Key" in missing_key.json()["error"]["details"]["fields"]
    staff = issue_token(kind="staff", id=1, merchant_id=seller.merchant_id, role="owner")
    assert _buy(live, staff, claim_batch).status_code == 403


def test_unpaid_orders_hold_stock_and_a_buyer_resumes_their_own(live, seller):
    batch_id = _purchase_batch(live, seller, quantity=1)
    _, first = live.login()
    order_no = _buy(live, first, batch_id).json()["order_no"]
    resumed = _buy(live, first, batch_id)  # another key, same buyer: the unpaid order comes back
    assert resumed.status_code == 201 and resumed.json()["order_no"] == order_no

    _, second = live.login()
    sold_out = _buy(live, second, batch_id)
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "SOLD_OUT"

    # Once the first order can no longer be paid it stops holding the card.
    live.query(lambda s: (s.execute(update(PaymentOrder).where(PaymentOrder.out_trade_no == order_no)
                                    .values(expires_at=utcnow() + timedelta(minutes=1))), s.commit()))
    assert _buy(live, second, batch_id).status_code == 201


def test_per_user_limit_counts_cards_received(live, seller):
    batch_id = _purchase_batch(live, seller, per_user_limit=1)
    _, headers = live.login()
    order_no = _buy(live, headers, batch_id).json()["order_no"]
    live.simulate_pay(order_no)
    wait_order_status(live, order_no, "paid")
    again = _buy(live, headers, batch_id)
    assert again.status_code == 409 and again.json()["error"]["code"] == "LIMIT_REACHED"


def test_paid_after_sell_out_is_refunded_whole(live, seller):
    """Stock ran out between order and payment: no card, the whole payment goes back automatically."""
    batch_id = _purchase_batch(live, seller, quantity=1)
    consumer_id, headers = live.login()
    order_no = _buy(live, headers, batch_id).json()["order_no"]
    live.query(lambda s: (s.execute(update(Batch).where(Batch.id == batch_id).values(issued_count=1)), s.commit()))

    live.simulate_pay(order_no)
    order = wait_order_status(live, order_no, "refunded")
    assert order.card_id is None and order.refunded_fen == 8000
    assert _cards_of(live, consumer_id) == []
    refund, allocation = live.query(lambda s: s.execute(
        select(Refund, RefundAllocation).join(RefundAllocation, RefundAllocation.refund_id == Refund.id)
    ).one())
    assert (refund.card_id, refund.refund_fen, refund.status) == (None, 8000, "succeeded")
    assert (allocation.amount_fen, allocation.status) == (8000, "succeeded") and allocation.wechat_refund_id
    assert live.get(f"/api/v1/mp/orders/{order_no}", headers=headers).json()["status"] == "refunded"
    assert live.query(verify_ledger) == []


@pytest.mark.postgres
def test_ten_concurrent_notifies_of_a_purchase_issue_one_card(live, seller):
    batch_id = _purchase_batch(live, seller)
    consumer_id, headers = live.login()
    order_no = _buy(live, headers, batch_id).json()["order_no"]
    paid = live.simulate_pay(order_no, notify=False)
    body, notify_headers = live.payment_notify(out_trade_no=order_no, total_fee="8000", cash_fee="8000",
                                               transaction_id=paid["transaction_id"],
                                               attach=str(order_row(live, order_no).id))
    barrier = threading.Barrier(10)
    codes: list[str] = []

    def deliver() -> None:
        barrier.wait()
        codes.append(live.reply(live.post(live.notify_path, data=body, headers=notify_headers))[0])

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == ["SUCCESS"] * 10
    wait_for(lambda: _cards_of(live, consumer_id))
    assert len(_cards_of(live, consumer_id)) == 1 and _issued_count(live, batch_id) == 1
    assert live.query(verify_ledger) == []
