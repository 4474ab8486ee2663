"""A consumer's refund of a card, as the holder and WeChat Pay see it: how much comes back, the fee,
the 7-day cooling-off (SPC Art. 14) on both sides, every refusal, and which payments it goes back to.

Through POST /api/v1/mp/cards/{id}/refund, with WeChat Pay recording the refunds it is asked for.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.db import db, utcnow
from server.ledger.services import verify_ledger
from server.wechat.adapters import set_payment_gateway
from tests.api.mp.money_support import RecordingPay, configure, holder_headers, paid_order

FEE_10 = {"allowed": True, "fee_percent": 10}


@pytest.fixture
def pay(app):
    recording = RecordingPay()
    set_payment_gateway(app, recording)
    yield recording
    set_payment_gateway(app, None)


@pytest.fixture
def holder(app, issue_token, counter):
    for kind in ("stored_value", "count"):
        configure(app, counter.product_ids[kind], refund_rule=FEE_10)
    return holder_headers(app, issue_token)


def _card(counter, kind="stored_value", days_old=0.0, **balances) -> int:
    return counter.card(kind, created_at=utcnow() - timedelta(days=days_old), **balances)


def _refund(client, headers, card_id, key="refund-1"):
    return client.post(f"/api/v1/mp/cards/{card_id}/refund", json={"reason": "不想要了"},
                       headers={**headers, "Idempotency-Key": key})


def _amounts(response) -> tuple[int, int, int]:
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["refund_fen"], body["fee_fen"], body["forfeited_bonus_fen"]


def _state(client, headers, card_id) -> tuple[str, int, int, int]:
    card = client.get(f"/api/v1/mp/cards/{card_id}", headers=headers).get_json()
    return card["status"], card["principal_fen"], card["bonus_fen"], card["remaining_uses"]


def _refunded(client, headers, order_no) -> int:
    return client.get(f"/api/v1/mp/orders/{order_no}", headers=headers).get_json()["refunded_fen"]


def _books_balance(app) -> None:
    with app.app_context():
        assert verify_ledger(db.session) == []


def _redeem(client, counter, card_id, **body) -> int:
    response = counter.redeem(client, code=counter.code(card_id)["qr"], **body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["redemption_id"]


# --- cooling-off: within 7 days and nothing used ------------------------------------------------------


def test_unused_card_within_7_days_gets_all_principal_back_without_fee(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=6.9, principal_fen=12345, bonus_fen=2000)
    order = paid_order(app, card_id, 12345)
    assert _amounts(_refund(client, holder, card_id)) == (12345, 0, 2000)
    assert pay.refunds == [(order, 12345)]
    assert _state(client, holder, card_id) == ("refunded", 0, 0, 0)
    _books_balance(app)


def test_unused_card_older_than_7_days_pays_the_fee(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=7.1, principal_fen=12345, bonus_fen=2000)
    paid_order(app, card_id, 12345)
    # 10% of 12345 is 1234.5: the fee rounds down, in the holder's favour.
    assert _amounts(_refund(client, holder, card_id)) == (11111, 1234, 2000)
    assert [amount for _, amount in pay.refunds] == [11111]
    _books_balance(app)


def test_card_used_within_7_days_pays_the_fee_on_what_is_left(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=20000)
    paid_order(app, card_id, 20000)
    _redeem(client, counter, card_id, amount_fen=1000)  # 90% at this shop: 900 taken
    # 19100 left; the fee is 1910 exactly.
    assert _amounts(_refund(client, holder, card_id)) == (17190, 1910, 0)
    _books_balance(app)


def test_a_reversed_redemption_does_not_count_as_use(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=20000)
    paid_order(app, card_id, 20000)
    redemption_id = _redeem(client, counter, card_id, amount_fen=1000)
    reversed_ = client.post(f"/api/v1/merchant/redemptions/{redemption_id}/reverse", json={"reason": "输错金额"},
                            headers={**counter.shop.headers("manager"), "Idempotency-Key": "rev"})
    assert reversed_.status_code == 200, reversed_.get_json()
    assert _amounts(_refund(client, holder, card_id)) == (20000, 0, 0)


@pytest.mark.parametrize(("age", "amounts"), [
    (timedelta(days=7), (10000, 0, 0)),  # the 7th day still counts
    (timedelta(days=7, seconds=1), (9000, 1000, 0)),
])
def test_the_cooling_off_window_is_seven_days_to_the_second(client, app, counter, holder, pay, monkeypatch, age,
                                                             amounts):
    bought = utcnow() - timedelta(days=30)
    card_id = counter.card(created_at=bought, principal_fen=10000)
    paid_order(app, card_id, 10000)
    monkeypatch.setattr("miniprogram_api.wallet.utcnow", lambda: bought + age)  # the refund's clock
    assert _amounts(_refund(client, holder, card_id)) == amounts


def test_one_fen_paid_is_one_fen_refunded(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=1)
    order = paid_order(app, card_id, 1)
    assert _amounts(_refund(client, holder, card_id)) == (1, 0, 0)
    assert pay.refunds == [(order, 1)]


def test_a_fee_that_does_not_divide_evenly_rounds_down_for_the_holder(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], refund_rule={"allowed": True, "fee_percent": 7})
    card_id = _card(counter, days_old=30, principal_fen=999)
    paid_order(app, card_id, 999)
    assert _amounts(_refund(client, holder, card_id)) == (930, 69, 0)  # 7% of 999 is 69.93


def test_no_fee_percent_means_no_fee(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], refund_rule={"allowed": True})
    card_id = _card(counter, days_old=30, principal_fen=5000)
    paid_order(app, card_id, 5000)
    assert _amounts(_refund(client, holder, card_id)) == (5000, 0, 0)


# --- only money paid through WeChat goes back ---------------------------------------------------------


def test_principal_that_was_not_paid_is_forfeited_not_paid_out(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=10000, bonus_fen=500)
    paid_order(app, card_id, 6000)  # 4000 of the principal came free (a claim or a code)
    assert _amounts(_refund(client, holder, card_id)) == (6000, 0, 500)
    assert [amount for _, amount in pay.refunds] == [6000]
    assert _state(client, holder, card_id) == ("refunded", 0, 0, 0)
    _books_balance(app)


def test_what_was_already_refunded_or_never_paid_does_not_count(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=10000)
    paid_order(app, card_id, 8000, refunded_fen=5000)  # 3000 of it still refundable
    paid_order(app, card_id, 4000, status="pending")  # never paid
    paid_order(app, card_id, 4000, status="closed")
    assert _amounts(_refund(client, holder, card_id)) == (3000, 0, 0)


def test_the_refund_goes_back_to_the_newest_payments_first(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=15000)
    older = paid_order(app, card_id, 10000, hours_ago=5)
    newer = paid_order(app, card_id, 5000, hours_ago=2)
    _redeem(client, counter, card_id, amount_fen=2000)  # 1800 used: 13200 left, fee 1320
    assert _amounts(_refund(client, holder, card_id)) == (11880, 1320, 0)
    assert pay.refunds == [(newer, 5000), (older, 6880)]
    assert [_refunded(client, holder, order) for order in (newer, older)] == [5000, 6880]
    _books_balance(app)


def test_a_refund_the_newest_payment_covers_asks_nothing_of_older_ones(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=4000)
    older = paid_order(app, card_id, 10000, refunded_fen=8000, hours_ago=30)
    newer = paid_order(app, card_id, 5000, hours_ago=2)
    assert _amounts(_refund(client, holder, card_id)) == (4000, 0, 0)
    assert pay.refunds == [(newer, 4000)]
    assert [_refunded(client, holder, order) for order in (newer, older)] == [4000, 8000]


def test_a_partly_refunded_order_gives_back_only_what_is_left_of_it(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=6000)
    newer = paid_order(app, card_id, 5000, refunded_fen=3000, hours_ago=1)
    older = paid_order(app, card_id, 4000, hours_ago=9)
    assert _amounts(_refund(client, holder, card_id)) == (6000, 0, 0)
    assert pay.refunds == [(newer, 2000), (older, 4000)]
    assert [_refunded(client, holder, order) for order in (newer, older)] == [5000, 4000]


def test_a_fully_refunded_order_is_not_asked_again(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=3000)
    paid_order(app, card_id, 5000, refunded_fen=5000, hours_ago=1)
    older = paid_order(app, card_id, 3000, hours_ago=9)
    assert _amounts(_refund(client, holder, card_id)) == (3000, 0, 0)
    assert pay.refunds == [(older, 3000)]


# --- refusals: nothing changes ------------------------------------------------------------------------


def _refused(client, headers, card_id, state, pay) -> None:
    response = _refund(client, headers, card_id)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "NOT_REFUNDABLE"
    assert _state(client, headers, card_id) == state
    assert pay.refunds == []


def test_a_card_with_nothing_paid_is_refused(client, app, counter, holder, pay):
    card_id = _card(counter, days_old=1, principal_fen=5000)  # all principal came free
    response = _refund(client, holder, card_id, key="nothing-paid")
    assert response.get_json()["error"]["message"] == "该卡没有可退回的已付金额"
    _refused(client, holder, card_id, ("active", 5000, 0, 0), pay)


@pytest.mark.parametrize("status", ["refunded", "replaced"])
def test_a_card_refunded_or_replaced_is_refused(client, app, counter, holder, pay, status):
    card_id = _card(counter, days_old=1, principal_fen=5000, status=status)
    paid_order(app, card_id, 5000)
    _refused(client, holder, card_id, (status, 5000, 0, 0), pay)


@pytest.mark.parametrize("status", ["frozen", "expired"])
def test_a_frozen_or_expired_card_is_still_refunded(client, app, counter, holder, pay, status):
    card_id = _card(counter, days_old=30, principal_fen=5000, status=status)
    paid_order(app, card_id, 5000)
    assert _amounts(_refund(client, holder, card_id)) == (4500, 500, 0)


@pytest.mark.parametrize("rule", [{"allowed": False, "fee_percent": 0}, {}, None])
def test_a_product_that_does_not_allow_refunds_is_refused(client, app, counter, holder, pay, rule):
    configure(app, counter.product_ids["stored_value"], refund_rule=rule)
    card_id = _card(counter, days_old=1, principal_fen=5000)
    paid_order(app, card_id, 5000)
    _refused(client, holder, card_id, ("active", 5000, 0, 0), pay)


@pytest.mark.parametrize("kind", ["points", "discount"])
def test_a_card_that_is_not_prepaid_is_refused(client, app, counter, holder, pay, kind):
    for product in ("points", "discount"):
        configure(app, counter.product_ids[product], refund_rule=FEE_10)
    card_id = _card(counter, kind, days_old=1, principal_fen=5000)
    paid_order(app, card_id, 5000)
    _refused(client, holder, card_id, ("active", 5000, 0, 0), pay)


def test_another_consumers_card_is_not_found(client, app, counter, holder, pay, issue_token):
    card_id = _card(counter, days_old=1, principal_fen=5000)
    paid_order(app, card_id, 5000)
    from server.consumers.models import Consumer

    with app.app_context():
        stranger = Consumer(openid="o_stranger")
        db.session.add(stranger)
        db.session.commit()
        stranger_id = stranger.id
    response = _refund(client, issue_token(kind="consumer", id=stranger_id), card_id)
    assert response.status_code == 404
    assert pay.refunds == []


# --- count cards --------------------------------------------------------------------------------------


def test_count_card_refunds_the_principal_of_the_uses_left(client, app, counter, holder, pay):
    card_id = _card(counter, "count", days_old=1, uses=10, principal_fen=10000)
    paid_order(app, card_id, 10000)
    _redeem(client, counter, card_id, uses=3)  # three at once: 3000 recognised
    assert _state(client, holder, card_id) == ("active", 7000, 0, 7)
    assert _amounts(_refund(client, holder, card_id)) == (6300, 700, 0)
    assert _state(client, holder, card_id) == ("refunded", 0, 0, 0)
    _books_balance(app)


def test_unused_count_card_within_7_days_refunds_everything(client, app, counter, holder, pay):
    card_id = _card(counter, "count", days_old=2, uses=10, principal_fen=10000)
    paid_order(app, card_id, 10000)
    assert _amounts(_refund(client, holder, card_id)) == (10000, 0, 0)
    assert _state(client, holder, card_id) == ("refunded", 0, 0, 0)
    _books_balance(app)
