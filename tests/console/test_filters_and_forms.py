"""Money and time as the console shows them, and the wizard's reading of what was typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import MultiDict

from server.console.filters import label, money, shanghai_time, site_path, yuan_input
from server.console.forms import fen_or_text, int_or_text, product_from_form


@pytest.mark.parametrize(("fen", "shown"), [
    (0, "¥0.00"), (5, "¥0.05"), (1234, "¥12.34"), (100, "¥1.00"), (-1234, "-¥12.34"),
    (123_456_789, "¥1,234,567.89"), (None, ""),
    (10**20 + 1, "¥1,000,000,000,000,000,000.01"),  # exact beyond a float's precision
])
def test_money_is_yuan_from_integer_fen(fen, shown):
    assert money(fen) == shown


@pytest.mark.parametrize(("value", "shown"), [(1234, "12.34"), (-5, "-0.05"), (0, "0.00"), (None, ""),
                                              ("12.345", "12.345")])
def test_yuan_inputs_show_fen_as_yuan_and_typed_text_untouched(value, shown):
    assert yuan_input(value) == shown


def test_times_are_shown_in_asia_shanghai():
    assert shanghai_time(datetime(2024, 1, 1, 16, 30, tzinfo=UTC)) == "2024-01-02 00:30"
    assert shanghai_time(datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC), "%H:%M:%S") == "07:59:59"
    assert shanghai_time(None) == ""


@pytest.mark.parametrize(("typed", "fen"), [
    ("12", 1200), ("12.3", 1230), ("12.34", 1234), (" 0.05 ", 5), ("-1.5", -150), ("0", 0),
    ("99999999999999999999.99", 9_999_999_999_999_999_999_999),
    ("12.345", "12.345"), ("12,00", "12,00"), ("abc", "abc"), ("1e3", "1e3"), ("", None),
])
def test_typed_yuan_become_fen_by_string_arithmetic(typed, fen):
    assert fen_or_text(typed) == fen


def test_empty_amounts_and_numbers_take_the_given_default():
    assert fen_or_text("  ", empty=0) == 0
    assert int_or_text("", empty=0) == 0 and int_or_text("") is None
    assert int_or_text("-3") == -3 and int_or_text("3.5") == "3.5"


def test_labels_and_site_paths():
    assert label("pending_review", "product_status") == "待审核"
    assert label("batch.create", "audit_action") == "新建发行批次"
    assert label("something.new", "audit_action") == "something.new"
    assert site_path("http://127.0.0.1:5000/api/v1/faces/abc.png") == "/api/v1/faces/abc.png"
    assert site_path("https://kabao.example/x?y=1") == "/x?y=1"


def test_the_wizard_form_reads_as_api_product_fields():
    form = MultiDict([
        ("name", " 储值卡 "), ("kind", "stored_value"), ("named", "1"), ("face_value_fen", "100"),
        ("top_up.enabled", "1"),
        ("top_up.tiers[1].amount_fen", "500"), ("top_up.tiers[1].bonus_fen", ""),
        ("top_up.tiers[0].amount_fen", "200.5"), ("top_up.tiers[0].bonus_fen", "20"),
        ("top_up.max_fen", ""), ("uses", ""), ("validity.type", "fixed"), ("validity.end", "2030-01-31"),
        ("refund.allowed", "1"), ("refund.fee_percent", "5"), ("store_scope", "stores"),
        ("store_scope_ids", "3"), ("store_scope_ids", "7"),
        ("regional_discounts[0].region_code", "310101"), ("regional_discounts[0].discount_percent", "85"),
        ("card_no.prefix", "8103"), ("card_no.length", "16"), ("style.color", "#D4A373"), ("terms", "须知"),
    ])
    fields = product_from_form(form)
    assert fields["name"] == "储值卡" and fields["named"] is True and fields["transferable"] is False
    assert fields["face_value_fen"] == 10000
    assert fields["top_up"] == {"enabled": True, "allow_custom": False, "min_fen": None, "max_fen": None,
                                "tiers": [{"amount_fen": 20050, "bonus_fen": 2000},
                                          {"amount_fen": 50000, "bonus_fen": 0}]}
    assert fields["uses"] == 0
    assert fields["validity"] == {"type": "fixed", "start": None, "end": "2030-01-31", "days": None}
    assert fields["refund"] == {"allowed": True, "fee_percent": 5}
    assert fields["store_scope"] == [3, 7]
    assert fields["regional_discounts"] == [{"region_code": "310101", "discount_percent": 85}]
    assert fields["card_no"] == {"prefix": "8103", "length": 16}
    assert fields["style"] == {"color": "#D4A373", "logo_url": None}
