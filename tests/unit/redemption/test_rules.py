"""Redemption arithmetic for every card kind; every rounding in the consumer's favour."""

import pytest

from server.errors import InsufficientBalance, InsufficientPoints, InsufficientUses, MinSpendNotMet, ValidationError
from server.ledger.accounts import CardBalances
from server.redemption import rules


def _compute(kind="stored_value", principal=30000, bonus=5000, points=0, uses=0, bill=1000, n=1, redeem=0,
             percent=100, order="proportional", min_spend=0, points_rule=None):
    return rules.compute(kind=kind, balances=CardBalances(principal, bonus, points, uses), bill_fen=bill, uses=n,
                         redeem_points=redeem, discount_percent=percent, deduction_order=order,
                         min_spend_fen=min_spend, points_rule=points_rule or {})


def test_proportional_split_takes_principal_rounded_down():
    outcome = _compute(bill=1000)  # 1000 × 30000/35000 = 857.14 → 857 principal, 143 bonus
    assert (outcome.principal_fen, outcome.bonus_fen, outcome.deducted_fen) == (857, 143, 1000)


def test_proportional_split_never_overdraws_bonus():
    principal, bonus = rules.split_payment(35000, 30000, 5000, "proportional")
    assert (principal, bonus) == (30000, 5000)


@pytest.mark.parametrize(("order", "expected"), [("bonus_first", (0, 1000)), ("principal_first", (1000, 0))])
def test_explicit_deduction_orders(order, expected):
    outcome = _compute(bill=1000, order=order)
    assert (outcome.principal_fen, outcome.bonus_fen) == expected


def test_bonus_first_spills_into_principal():
    assert rules.split_payment(6000, 30000, 5000, "bonus_first") == (1000, 5000)


def test_insufficient_balance_names_what_is_there():
    with pytest.raises(InsufficientBalance) as info:
        _compute(bill=35001)
    assert info.value.details == {"balance_fen": 35000, "payable_fen": 35001}


def test_discount_rounds_the_payable_down():
    assert rules.apply_discount(999, 88) == 879  # 879.12
    outcome = _compute(bill=999, percent=88)
    assert (outcome.bill_fen, outcome.payable_fen, outcome.deducted_fen) == (999, 879, 879)


def test_regional_discount_overrides_the_products():
    regional = [{"region_code": "540102", "discount_percent": 80}]
    assert rules.discount_percent_for(90, regional, "540102") == 80
    assert rules.discount_percent_for(90, regional, "310101") == 90


def test_the_most_specific_area_holding_the_store_gives_the_discount():
    regional = [{"region_code": "310000", "discount_percent": 95},  # Shanghai
                {"region_code": "310101", "discount_percent": 85},  # its Huangpu district
                {"region_code": "540100", "discount_percent": 80}]  # the city of Lhasa
    assert rules.discount_percent_for(None, regional, "310101") == 85
    assert rules.discount_percent_for(None, regional, "310104") == 95
    assert rules.discount_percent_for(None, regional, "540102") == 80
    assert rules.discount_percent_for(None, regional, "540221") == 100  # elsewhere in Tibet: no discount


@pytest.mark.parametrize(("areas", "region", "usable"), [
    ([], "540102", True),
    (["310000"], "310101", True),
    (["310000", "540100"], "540102", True),
    (["310000"], "320101", False),
    (["540100"], "540221", False),
])
def test_a_batch_for_some_regions_is_usable_in_them_only(areas, region, usable):
    assert rules.usable_in(areas, region) is usable
    assert rules.discount_percent_for(None, [], "310101") == 100


def test_min_spend_boundary():
    assert _compute(bill=5000, min_spend=5000).payable_fen == 5000
    with pytest.raises(MinSpendNotMet):
        _compute(bill=4999, min_spend=5000)


def test_count_card_takes_uses_and_recognises_principal_pro_rata():
    outcome = _compute(kind="count", principal=10000, bonus=0, uses=3, bill=0, n=1)
    assert (outcome.uses, outcome.principal_fen) == (1, 3333)
    last = _compute(kind="count", principal=3334, bonus=0, uses=1, bill=0, n=1)
    assert last.principal_fen == 3334  # the last use takes the remainder
    with pytest.raises(InsufficientUses):
        _compute(kind="count", uses=1, n=2)


def test_discount_card_deducts_nothing():
    outcome = _compute(kind="discount", principal=0, bonus=0, bill=10000, percent=85)
    assert (outcome.payable_fen, outcome.deducted_fen) == (8500, 0)


def test_points_card_earns_on_whole_yuan_and_redeems_points():
    rule = {"earn_per_yuan": 2, "points_per_yuan_off": 100}
    earned = _compute(kind="points", principal=0, bonus=0, bill=1299, points_rule=rule)
    assert (earned.payable_fen, earned.points_earned) == (1299, 24)
    spent = _compute(kind="points", principal=0, bonus=0, points=500, bill=1000, redeem=300, points_rule=rule)
    assert (spent.payable_fen, spent.points_redeemed, spent.points_earned) == (700, 300, 14)


def test_points_redemption_never_exceeds_the_bill():
    rule = {"earn_per_yuan": 1, "points_per_yuan_off": 100}
    outcome = _compute(kind="points", principal=0, bonus=0, points=5000, bill=250, redeem=5000, points_rule=rule)
    assert (outcome.payable_fen, outcome.points_redeemed) == (0, 250)


def test_points_beyond_the_balance_are_refused():
    with pytest.raises(InsufficientPoints):
        _compute(kind="points", points=10, redeem=11, points_rule={"points_per_yuan_off": 100})


def test_a_bill_is_required_for_amount_based_kinds():
    with pytest.raises(ValidationError):
        _compute(bill=0)
