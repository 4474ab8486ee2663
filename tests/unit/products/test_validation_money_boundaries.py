"""Smart validation at the legal boundaries a merchant could land on: the per-card cap reached through
a custom top-up amount, the unnamed card's 3 years on both sides, and the thresholds where a warning
starts — each one fen, one day or one percent either side."""

from __future__ import annotations

import json
from datetime import date

import pytest

from server.products.validation import refund_example, validate_product

TODAY = date(2025, 6, 1)
STORED_VALUE = {
    "name": "会员储值卡", "kind": "stored_value", "named": True, "face_value_fen": 0,
    "top_up": {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}], "allow_custom": False},
    "validity": {"type": "permanent"}, "refund": {"allowed": True, "fee_percent": 5},
    "transferable": True, "store_scope": "all", "card_no": {"prefix": "8888", "length": 16},
    "deduction_order": "proportional",
    "terms": "购卡之日起7日内且未消费的，可全额退还本金，不收取任何费用；超过7日的，扣除剩余本金的5%作为手续费后退还。",
}


def product(**fields) -> dict:
    return {**json.loads(json.dumps(STORED_VALUE)), **fields}


def errors(data, today: date = TODAY) -> set[tuple[str, str]]:
    return {(f.field, f.code) for f in validate_product(data, today=today).errors}


def warnings(data, today: date = TODAY) -> set[tuple[str, str]]:
    return {(f.field, f.code) for f in validate_product(data, today=today).warnings}


def custom(max_fen: int, *tiers: tuple[int, int], allow_custom: bool = True) -> dict:
    return {"enabled": True, "allow_custom": allow_custom, "min_fen": 100, "max_fen": max_fen,
            "tiers": [{"amount_fen": amount, "bonus_fen": bonus} for amount, bonus in tiers]}


CAP = ("top_up.max_fen", "CARD_VALUE_CAP_EXCEEDED")


# --- the per-card cap reached through a custom amount -------------------------------------------------


def test_a_custom_maximum_earns_the_best_bonus_it_reaches_not_the_smallest():
    # The custom maximum reaches both tiers; it earns the 600-yuan bonus: 4400 + 600 = 5000 yuan.
    tiers = ((100_000, 10_000), (300_000, 60_000))
    assert errors(product(top_up=custom(440_000, *tiers))) == set()
    assert CAP in errors(product(top_up=custom(440_001, *tiers)))


@pytest.mark.parametrize(("named", "cap"), [(True, 500_000), (False, 100_000)])
def test_a_custom_maximum_without_tiers_may_reach_the_cap_exactly(named, cap):
    assert CAP not in errors(product(named=named, top_up=custom(cap)))
    assert CAP in errors(product(named=named, top_up=custom(cap + 1)))


def test_the_face_value_counts_with_the_custom_maximum():
    assert CAP not in errors(product(face_value_fen=100_000, top_up=custom(400_000)))
    assert CAP in errors(product(face_value_fen=100_001, top_up=custom(400_000)))


def test_a_maximum_left_over_without_custom_amounts_does_not_count():
    top_up = custom(900_000, (30_000, 3_000), allow_custom=False)
    assert errors(product(top_up=top_up)) == set()


def test_top_up_switched_on_without_amounts_leaves_the_face_value_alone():
    no_amounts = {"enabled": True, "tiers": [], "allow_custom": False}
    assert errors(product(face_value_fen=500_000, top_up=no_amounts)) == {("top_up.tiers", "TOP_UP_NO_AMOUNTS")}
    assert ("face_value_fen", "CARD_VALUE_CAP_EXCEEDED") in errors(product(face_value_fen=500_001, top_up=no_amounts))


def test_the_cap_message_names_the_card_and_the_amounts():
    found = validate_product(product(named=False, top_up=custom(100_001)), today=TODAY).errors
    (message,) = [f.message for f in found if f.code == "CARD_VALUE_CAP_EXCEEDED"]
    assert "不记名卡" in message and "1000.00 元" in message and "1000.01 元" in message
    found = validate_product(product(top_up=custom(500_001)), today=TODAY).errors
    (message,) = [f.message for f in found if f.code == "CARD_VALUE_CAP_EXCEEDED"]
    assert message.startswith("记名卡") and "5000.00 元" in message


# --- the unnamed card's 3 years ------------------------------------------------------------------------


TOO_SHORT_END = ("validity.end", "UNNAMED_CARD_VALIDITY_TOO_SHORT")
TOO_SHORT_DAYS = ("validity.days", "UNNAMED_CARD_VALIDITY_TOO_SHORT")


def unnamed(validity: dict) -> dict:
    return product(named=False, validity=validity)


@pytest.mark.parametrize(("days", "short"), [(1, True), (1095, True), (1096, False)])
def test_relative_validity_of_an_unnamed_card_below_three_years(days, short):
    assert (TOO_SHORT_DAYS in errors(unnamed({"type": "relative", "days": days}))) is short


def test_zero_days_is_reported_once_as_not_positive():
    found = errors(unnamed({"type": "relative", "days": 0}))
    assert ("validity.days", "VALIDITY_DAYS_NOT_POSITIVE") in found and TOO_SHORT_DAYS not in found


def test_an_unnamed_card_ending_today_is_too_short_and_one_ended_yesterday_is_in_the_past():
    today = errors(unnamed({"type": "fixed", "end": "2025-06-01"}))
    assert TOO_SHORT_END in today
    yesterday = errors(unnamed({"type": "fixed", "end": "2025-05-31"}))
    assert ("validity.end", "VALIDITY_END_IN_PAST") in yesterday and TOO_SHORT_END not in yesterday


def test_three_years_near_the_last_representable_year():
    assert TOO_SHORT_END not in errors(unnamed({"type": "fixed", "start": "9996-06-01", "end": "9999-05-31"}),
                                       today=date(9996, 6, 1))
    assert TOO_SHORT_END in errors(unnamed({"type": "fixed", "start": "9996-06-01", "end": "9999-05-30"}),
                                   today=date(9996, 6, 1))


def test_a_named_stored_value_card_is_not_held_to_three_years():
    assert TOO_SHORT_DAYS not in errors(product(validity={"type": "relative", "days": 30}))


# --- warnings at their thresholds ----------------------------------------------------------------------


def test_the_largest_bill_a_discounted_card_pays_rounds_down():
    # 330 yuan at 88% pays bills up to 375.00 exactly; at 89%, up to 370.786… → 370.78.
    at_88 = product(discount_percent=88)
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") not in warnings({**at_88, "min_spend_fen": 37_500})
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") in warnings({**at_88, "min_spend_fen": 37_501})
    at_89 = product(discount_percent=89)
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") not in warnings({**at_89, "min_spend_fen": 37_078})
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") in warnings({**at_89, "min_spend_fen": 37_079})


def test_points_rates_of_zero_are_not_negative():
    found = errors(product(kind="points", points={"earn_per_yuan": 1, "points_per_yuan_off": 0}))
    assert ("points.points_per_yuan_off", "POINTS_RATE_NEGATIVE") not in found


@pytest.mark.parametrize(("discount", "largest_bill"), [(99, 33_333), (1, 3_300_000), (100, 33_000)])
def test_the_largest_bill_at_the_extreme_discounts(discount, largest_bill):
    # 330 yuan reachable; a discount outside 1–99 is an error of its own and counts as none here.
    data = product(discount_percent=discount)
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") not in warnings({**data, "min_spend_fen": largest_bill})
    found = validate_product({**data, "min_spend_fen": largest_bill + 1}, today=TODAY).warnings
    (message,) = [f.message for f in found if f.code == "MIN_SPEND_UNREACHABLE"]
    assert f"（{largest_bill // 100}.{largest_bill % 100:02d} 元）" in message


def test_a_zero_discount_with_a_threshold_is_an_error_not_a_division_by_zero():
    data = product(discount_percent=0, min_spend_fen=33_001)
    result = validate_product(data, today=TODAY)  # would divide by the percent if 0 were let through
    assert ("discount_percent", "DISCOUNT_PERCENT_OUT_OF_RANGE") in {(f.field, f.code) for f in result.errors}
    assert ("min_spend_fen", "MIN_SPEND_UNREACHABLE") in {(f.field, f.code) for f in result.warnings}


@pytest.mark.parametrize("terms", ["一天内退款收取手续费", "1天内退款收取手续费", "七日内退款扣除5%"])
def test_a_fee_within_one_to_seven_days_written_either_way_is_an_error(terms):
    assert ("terms", "REFUND_FEE_IN_COOLING_OFF") in errors(product(terms=terms))


def test_a_worked_refund_example_is_frozen_like_the_findings():
    example = refund_example(100_000, 20_000, 60_000)
    with pytest.raises(AttributeError):
        example.business_fault_fen = 0  # type: ignore[misc]


@pytest.mark.parametrize("tier", [{"amount_fen": 500_000}, {"amount_fen": 500_000, "bonus_fen": 0},
                                  {"amount_fen": 500_000, "bonus_fen": None}])
def test_a_tier_of_exactly_the_cap_without_bonus_is_within_it(tier):
    top_up = {"enabled": True, "allow_custom": False, "tiers": [tier]}
    assert ("top_up.tiers[0].amount_fen", "CARD_VALUE_CAP_EXCEEDED") not in errors(product(top_up=top_up))


def test_a_tier_one_fen_over_the_cap_without_bonus_is_over_it():
    top_up = {"enabled": True, "allow_custom": False, "tiers": [{"amount_fen": 500_001}]}
    assert ("top_up.tiers[0].amount_fen", "CARD_VALUE_CAP_EXCEEDED") in errors(product(top_up=top_up))
