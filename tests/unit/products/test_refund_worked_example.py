"""The worked refund example for a product's own rules, shown beside the refund settings."""

import pytest

from server.products.validation import RefundExample, product_refund_example


def stored(**fields):
    return {"kind": "stored_value", "face_value_fen": 0,
            "top_up": {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000},
                                                  {"amount_fen": 100000, "bonus_fen": 20000}]},
            "refund": {"allowed": True, "fee_percent": 5}, **fields}


def test_the_tier_with_the_largest_bonus_is_the_example():
    example = product_refund_example(stored())
    assert (example.paid_fen, example.bonus_fen, example.used_fen, example.fee_percent) == (100000, 20000, 60000, 5)
    # docs/regulations.md: pay 1,000, bonus 200, used 600 → customer's reason 400, business's fault 500.
    assert example.refund == RefundExample(customer_reason_fen=40000, business_fault_fen=50000)


def test_without_top_ups_the_face_value_is_paid_with_no_bonus():
    example = product_refund_example(stored(face_value_fen=10000, top_up={"enabled": False, "tiers": []}))
    assert (example.paid_fen, example.bonus_fen, example.used_fen) == (10000, 0, 6000)
    assert example.refund == RefundExample(4000, 4000)


def test_one_fen_paid_is_an_example_and_nothing_paid_is_none():
    assert product_refund_example(stored(face_value_fen=1, top_up={"enabled": False})).paid_fen == 1
    assert product_refund_example(stored(top_up={"enabled": False})) is None
    assert product_refund_example(stored(top_up={"enabled": True, "tiers": []})) is None


@pytest.mark.parametrize("data", [
    {"kind": "count", "face_value_fen": 30000, "uses": 10}, {"kind": "points"}, None, "x",
    stored(top_up="lots"), stored(face_value_fen="100", top_up={"enabled": False}),
])
def test_other_kinds_and_malformed_products_have_no_example(data):
    assert product_refund_example(data) is None


@pytest.mark.parametrize(("fee", "shown"), [(0, 0), (100, 100), (101, 0), (-1, 0), ("5", 0)])
def test_only_a_valid_fee_is_shown(fee, shown):
    assert product_refund_example(stored(refund={"allowed": True, "fee_percent": fee})).fee_percent == shown


def test_the_largest_bonus_is_chosen_even_on_a_smaller_tier():
    example = product_refund_example(stored(top_up={"enabled": True, "tiers": [
        {"amount_fen": 50000, "bonus_fen": 4000}, {"amount_fen": 30000, "bonus_fen": 5000}]}))
    assert (example.paid_fen, example.bonus_fen, example.used_fen) == (30000, 5000, 18000)


def test_three_fifths_used_rounds_down_to_the_fen():
    """99.99 yuan paid: 59.994 yuan used is shown as 59.99, never more than three fifths."""
    example = product_refund_example(stored(face_value_fen=9999, top_up={"enabled": False}))
    assert (example.used_fen, example.refund) == (5999, RefundExample(4000, 4000))
