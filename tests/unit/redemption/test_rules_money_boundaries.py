"""What a redemption takes and gives, at the edges a cashier or a holder would notice: the smallest
bills, several uses at once, points rates that do not divide evenly, cards without a points rule,
and everything a redemption leaves alone (a count card takes no money, a discount card no balance).
"""

import dataclasses

import pytest

from server.errors import BusinessRuleError, InsufficientUses, ValidationError
from server.ledger.accounts import CardBalances
from server.redemption import rules


def _compute(kind="stored_value", principal=30000, bonus=5000, points=0, uses=0, bill=1000, n=1, redeem=0,
             percent=100, order="proportional", min_spend=0, points_rule=None):
    return rules.compute(kind=kind, balances=CardBalances(principal, bonus, points, uses), bill_fen=bill, uses=n,
                         redeem_points=redeem, discount_percent=percent, deduction_order=order,
                         min_spend_fen=min_spend, points_rule=points_rule or {})


def _taken(outcome) -> dict:
    """Everything the outcome moves, all of which must be whole fen / points / uses."""
    fields = {**dataclasses.asdict(outcome), "deducted_fen": outcome.deducted_fen}
    assert all(type(value) is int for value in fields.values()), fields
    return fields


# --- count cards ----------------------------------------------------------------------------------------


def test_several_uses_at_once_recognise_their_share_of_principal():
    outcome = _compute(kind="count", principal=10000, bonus=0, uses=10, bill=0, n=3)
    assert _taken(outcome) == {"bill_fen": 0, "payable_fen": 0, "principal_fen": 3000, "bonus_fen": 0, "uses": 3,
                               "points_earned": 0, "points_redeemed": 0, "deducted_fen": 3000}


def test_several_uses_round_the_recognised_principal_down():
    outcome = _compute(kind="count", principal=10000, bonus=0, uses=7, bill=0, n=2)  # 2857.14
    assert (outcome.uses, outcome.principal_fen) == (2, 2857)


def test_taking_every_use_left_takes_all_the_principal():
    outcome = _compute(kind="count", principal=9999, bonus=0, uses=4, bill=0, n=4)
    assert (outcome.uses, outcome.principal_fen) == (4, 9999)


def test_a_count_card_earns_no_points_even_with_a_points_rule():
    outcome = _compute(kind="count", principal=1000, uses=2, bill=5000, n=1, points_rule={"earn_per_yuan": 5})
    assert (outcome.points_earned, outcome.bill_fen, outcome.payable_fen) == (0, 0, 0)


@pytest.mark.parametrize("n", [0, -1])
def test_zero_or_negative_uses_are_refused(n):
    with pytest.raises(ValidationError):
        _compute(kind="count", principal=1000, uses=5, bill=0, n=n)


def test_one_use_more_than_left_is_refused():
    with pytest.raises(InsufficientUses) as info:
        _compute(kind="count", principal=1000, uses=3, bill=0, n=4)
    assert info.value.details == {"remaining_uses": 3, "requested": 4}


# --- stored value ---------------------------------------------------------------------------------------


def test_a_one_fen_bill_is_accepted():
    outcome = _compute(bill=1, principal=1, bonus=0)
    assert (outcome.payable_fen, outcome.principal_fen, outcome.bonus_fen) == (1, 1, 0)


def test_a_bill_the_discount_makes_free_takes_nothing_even_from_an_empty_card():
    outcome = _compute(bill=1, percent=90, principal=0, bonus=0)  # 0.9 fen rounds down to 0
    assert _taken(outcome) == {"bill_fen": 1, "payable_fen": 0, "principal_fen": 0, "bonus_fen": 0, "uses": 0,
                               "points_earned": 0, "points_redeemed": 0, "deducted_fen": 0}
    with_bonus = _compute(bill=1, percent=90, principal=100, bonus=100)
    assert (with_bonus.principal_fen, with_bonus.bonus_fen) == (0, 0)


def test_the_whole_balance_can_be_spent_in_any_order():
    for order in ("proportional", "bonus_first", "principal_first"):
        outcome = _compute(bill=35000, order=order)
        assert (outcome.principal_fen, outcome.bonus_fen) == (30000, 5000), order


def test_principal_first_spills_into_bonus():
    outcome = _compute(bill=31000, order="principal_first")
    assert (outcome.principal_fen, outcome.bonus_fen) == (30000, 1000)


def test_proportional_split_of_an_uneven_bill_is_whole_fen_and_exact():
    outcome = _compute(bill=7, principal=20, bonus=10)  # 4.67 principal → 4, bonus 3
    assert (outcome.principal_fen, outcome.bonus_fen, outcome.deducted_fen) == (4, 3, 7)


def test_stored_value_earns_points_on_what_is_paid_after_discount():
    outcome = _compute(bill=2000, percent=90, points_rule={"earn_per_yuan": 3})  # pays 18 yuan
    assert (outcome.payable_fen, outcome.points_earned) == (1800, 54)


def test_a_stored_value_card_without_an_earning_rule_earns_nothing():
    assert _compute(bill=10000).points_earned == 0


# --- points ---------------------------------------------------------------------------------------------


def test_points_are_earned_per_whole_yuan():
    rule = {"earn_per_yuan": 1, "points_per_yuan_off": 100}
    assert [_compute(kind="points", bill=bill, points_rule=rule).points_earned for bill in (99, 100, 1000, 10099)] \
        == [0, 1, 10, 100]


def test_a_points_card_without_an_earning_rule_earns_nothing():
    outcome = _compute(kind="points", principal=0, bonus=0, bill=5000, points_rule={"points_per_yuan_off": 100})
    assert (outcome.points_earned, outcome.payable_fen) == (0, 5000)


def test_a_card_without_a_redemption_rule_refuses_to_redeem_points():
    with pytest.raises(BusinessRuleError) as info:
        _compute(kind="points", points=500, bill=5000, redeem=100, points_rule={"earn_per_yuan": 1})
    assert info.value.code == "AMOUNT_NOT_ALLOWED"


def test_a_card_without_a_redemption_rule_still_pays_and_earns():
    outcome = _compute(kind="points", points=500, bill=5000, redeem=0, points_rule={"earn_per_yuan": 2})
    assert (outcome.payable_fen, outcome.points_redeemed, outcome.points_earned) == (5000, 0, 100)


def test_a_rate_that_does_not_divide_evenly_gives_whole_fen_off_and_spends_whole_points():
    # 30 points a yuan: 100 points are worth 333.33 fen → 333 fen off, and those 333 fen cost 99.9 → 100 points.
    outcome = _compute(kind="points", points=100, bill=5000, redeem=100,
                       points_rule={"earn_per_yuan": 1, "points_per_yuan_off": 30})
    assert _taken(outcome) == {"bill_fen": 5000, "payable_fen": 4667, "principal_fen": 0, "bonus_fen": 0,
                               "uses": 0, "points_earned": 46, "points_redeemed": 100, "deducted_fen": 0}


def test_an_uneven_rate_against_a_small_bill_spends_only_the_points_the_bill_needs():
    # 250 fen at 30 points a yuan need 75 points; 7 fen need 2.1 → 3 points.
    rule = {"points_per_yuan_off": 30}
    big = _compute(kind="points", points=1000, bill=250, redeem=1000, points_rule=rule)
    assert (big.payable_fen, big.points_redeemed) == (0, 75)
    small = _compute(kind="points", points=1000, bill=7, redeem=1000, points_rule=rule)
    assert (small.payable_fen, small.points_redeemed) == (0, 3)


def test_all_points_can_be_redeemed():
    outcome = _compute(kind="points", points=300, bill=5000, redeem=300, points_rule={"points_per_yuan_off": 100})
    assert (outcome.payable_fen, outcome.points_redeemed) == (4700, 300)


# --- discount cards -------------------------------------------------------------------------------------


def test_a_discount_card_earns_points_on_the_discounted_bill_and_takes_no_balance():
    outcome = _compute(kind="discount", principal=500, bonus=500, bill=10000, percent=85,
                       points_rule={"earn_per_yuan": 1})
    assert _taken(outcome) == {"bill_fen": 10000, "payable_fen": 8500, "principal_fen": 0, "bonus_fen": 0,
                               "uses": 0, "points_earned": 85, "points_redeemed": 0, "deducted_fen": 0}


def test_no_discount_means_the_whole_bill():
    assert rules.discount_percent_for(None, None, "310101") == 100
    assert _compute(kind="discount", bill=1234, percent=rules.discount_percent_for(None, [], "310101")) \
        .payable_fen == 1234
