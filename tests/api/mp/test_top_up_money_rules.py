"""Top-ups as the holder sees them: which amounts are offered, the bonus each earns (充300送30: 350
earns 30 too), and the per-card legal cap (MOFCOM: 5,000 yuan named, 1,000 yuan unnamed) on both
sides of every boundary.

Through GET /top-up-options and POST /top-ups, with WeChat Pay recording the orders it is asked for.
"""

from __future__ import annotations

import itertools

import pytest

from server.wechat.adapters import set_payment_gateway
from tests.api.mp.money_support import RecordingPay, configure, holder_headers

TIERS = {"enabled": True, "allow_custom": True, "min_fen": 1000, "max_fen": 200000,
         "tiers": [{"amount_fen": 50000, "bonus_fen": 8000}, {"amount_fen": 30000, "bonus_fen": 3000},
                   {"amount_fen": 10000}]}
_keys = itertools.count(1)


@pytest.fixture
def pay(app):
    recording = RecordingPay()
    set_payment_gateway(app, recording)
    yield recording
    set_payment_gateway(app, None)


@pytest.fixture
def holder(app, issue_token, counter):
    configure(app, counter.product_ids["stored_value"], top_up=TIERS, named=True)
    return holder_headers(app, issue_token)


def _top_up(client, headers, card_id, amount_fen):
    return client.post(f"/api/v1/mp/cards/{card_id}/top-ups", json={"amount_fen": amount_fen},
                       headers={**headers, "Idempotency-Key": f"top-up-{next(_keys)}"})


def _bonus(client, headers, card_id, amount_fen) -> int:
    response = _top_up(client, headers, card_id, amount_fen)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount_fen"] == amount_fen
    return response.get_json()["bonus_fen"]


def _refused(client, headers, card_id, amount_fen, code="AMOUNT_NOT_ALLOWED") -> dict:
    response = _top_up(client, headers, card_id, amount_fen)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    return error.get("details") or {}


def _options(client, headers, card_id) -> dict:
    response = client.get(f"/api/v1/mp/cards/{card_id}/top-up-options", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- tiers and their bonus ----------------------------------------------------------------------------


def test_each_tier_earns_its_own_bonus_and_wechat_is_asked_for_the_amount(client, counter, holder, pay):
    card_id = counter.card()
    assert [_bonus(client, holder, card_id, amount) for amount in (10000, 30000, 50000)] == [0, 3000, 8000]
    assert [order["amount_fen"] for order in pay.orders] == [10000, 30000, 50000]


@pytest.mark.parametrize(("amount", "bonus"), [
    (1000, 0),       # the custom minimum, below every tier
    (9999, 0),       # one fen short of the first tier
    (10001, 0),      # past a tier without bonus
    (29999, 0),
    (30001, 3000),   # 充300送30: 300.01 reaches it
    (49999, 3000),
    (50001, 8000),
    (200000, 8000),  # the custom maximum
])
def test_a_custom_amount_earns_the_bonus_of_the_highest_tier_it_reaches(client, counter, holder, pay, amount, bonus):
    assert _bonus(client, holder, counter.card(), amount) == bonus


@pytest.mark.parametrize("amount", [999, 200001])
def test_a_custom_amount_outside_its_range_is_refused(client, counter, holder, pay, amount):
    details = _refused(client, holder, counter.card(), amount)
    assert (details["min_fen"], details["max_fen"]) == (1000, 200000)
    assert sorted(details["tiers"]) == [10000, 30000, 50000]
    assert pay.orders == []


def test_without_custom_amounts_only_the_tiers_are_offered(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], top_up={**TIERS, "allow_custom": False})
    card_id = counter.card()
    assert _bonus(client, holder, card_id, 30000) == 3000
    details = _refused(client, holder, card_id, 35000)
    assert (details["min_fen"], details["max_fen"]) == (None, None)


def test_custom_amounts_without_bounds_start_at_one_fen(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"],
              top_up={"enabled": True, "allow_custom": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}]})
    card_id = counter.card()
    assert _bonus(client, holder, card_id, 1) == 0
    assert _bonus(client, holder, card_id, 450000) == 3000  # no maximum: only the legal cap limits it


def test_top_ups_switched_off_are_refused(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], top_up={**TIERS, "enabled": False})
    card_id = counter.card()
    _refused(client, holder, card_id, 30000)
    assert _options(client, holder, card_id)["enabled"] is False


@pytest.mark.parametrize("kind", ["count", "points", "discount"])
def test_only_stored_value_cards_are_topped_up(client, app, counter, holder, pay, kind):
    configure(app, counter.product_ids[kind], top_up=TIERS)
    card_id = counter.card(kind)
    _refused(client, holder, card_id, 30000)
    assert _options(client, holder, card_id)["enabled"] is False
    assert pay.orders == []


@pytest.mark.parametrize("status", ["frozen", "expired", "refunded"])
def test_a_card_that_is_not_active_is_not_topped_up(client, counter, holder, pay, status):
    _refused(client, holder, counter.card(status=status), 30000, code="CARD_NOT_ACTIVE")
    assert pay.orders == []


# --- the legal cap ------------------------------------------------------------------------------------


def test_a_named_card_may_reach_5000_yuan_exactly_and_not_a_fen_more(client, counter, holder, pay):
    full = counter.card(principal_fen=500000 - 33000)
    assert _bonus(client, holder, full, 30000) == 3000  # 4670 + 300 + 30 = 5000 yuan
    over = counter.card(principal_fen=500000 - 33000 + 1)
    details = _refused(client, holder, over, 30000)
    assert (details["cap_fen"], details["room_fen"], details["balance_fen"]) == (500000, 32999, 467001)


def test_an_unnamed_card_may_reach_1000_yuan_exactly_and_not_a_fen_more(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], named=False)
    full = counter.card(principal_fen=60000, bonus_fen=7000)
    assert _bonus(client, holder, full, 30000) == 3000  # 600 + 70 + 300 + 30 = 1000 yuan
    over = counter.card(principal_fen=60000, bonus_fen=7001)
    details = _refused(client, holder, over, 30000)
    assert (details["cap_fen"], details["room_fen"]) == (100000, 32999)


def test_the_bonus_counts_towards_the_cap(client, counter, holder, pay):
    card_id = counter.card(principal_fen=445000)
    _refused(client, holder, card_id, 50000)  # 4450 + 500 fits, but not with the 80 bonus
    assert _bonus(client, holder, card_id, 30000) == 3000


def test_a_card_already_above_the_cap_has_no_room(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], named=False)
    card_id = counter.card(principal_fen=100500)  # issued when the product was named
    details = _refused(client, holder, card_id, 1000)
    assert details["room_fen"] == 0
    assert _options(client, holder, card_id)["room_fen"] == 0


def test_options_show_each_tier_and_whether_it_fits_under_the_cap(client, counter, holder, pay):
    card_id = counter.card(principal_fen=500000 - 33000)
    options = _options(client, holder, card_id)
    assert options["enabled"] is True
    assert (options["cap_fen"], options["room_fen"]) == (500000, 33000)
    assert (options["allow_custom"], options["min_fen"], options["max_fen"]) == (True, 1000, 200000)
    assert [(t["amount_fen"], t["bonus_fen"], t["within_cap"]) for t in options["tiers"]] == [
        (50000, 8000, False), (30000, 3000, True), (10000, 0, True)]
    # 300 yuan of room: the 300-yuan tier itself fits, its bonus does not.
    room_300 = _options(client, holder, counter.card(principal_fen=470000))
    assert [t["within_cap"] for t in room_300["tiers"]] == [False, False, True]


def test_options_of_an_unnamed_card(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], named=False)
    card_id = counter.card(principal_fen=90000)
    options = _options(client, holder, card_id)
    assert (options["cap_fen"], options["room_fen"]) == (100000, 10000)
    assert [t["within_cap"] for t in options["tiers"]] == [False, False, True]
    one_fen_short = _options(client, holder, counter.card(principal_fen=90001))
    assert one_fen_short["room_fen"] == 9999
    assert [t["within_cap"] for t in one_fen_short["tiers"]] == [False, False, False]


def test_wechat_shows_the_merchant_and_card_cut_to_40_characters(client, app, counter, holder, pay):
    card_id = counter.card()
    _bonus(client, holder, card_id, 30000)
    configure(app, counter.product_ids["stored_value"], name="超长名字的会员储值卡" * 4)
    _bonus(client, holder, card_id, 30000)
    short, long = (order["description"] for order in pay.orders)
    merchant = short.removesuffix("-储值卡充值")
    assert merchant and short == f"{merchant}-储值卡充值"
    assert len(long) == 40 and long == f"{merchant}-{'超长名字的会员储值卡' * 4}充值"[:40]


def test_open_top_up_orders_together_stay_within_the_cap(client, app, counter, holder, pay):
    configure(app, counter.product_ids["stored_value"], top_up={**TIERS, "max_fen": 300000})
    card_id = counter.card()
    assert _top_up(client, holder, card_id, 300000).status_code == 201  # not paid yet
    _refused(client, holder, card_id, 300000)  # both paid would hold 6000 yuan
