"""Smart validation: every rule on both sides of its threshold, and no input that makes it raise."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from server.products.validation import (
    RULES,
    Finding,
    RefundExample,
    ValidationResult,
    batch_warnings,
    refund_example,
    validate_product,
)

TODAY = date(2025, 6, 1)
FAIR_TERMS = (
    "购卡之日起7日内且未消费的，可全额退还本金，不收取任何费用；超过7日的，扣除剩余本金的5%作为手续费后退还。"
    "本卡可转赠，记名卡遗失可挂失补办。"
)
BASES = {
    "stored_value": {
        "name": "会员储值卡", "kind": "stored_value", "named": True, "face_value_fen": 0,
        "top_up": {
            "enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}], "allow_custom": False,
        },
        "validity": {"type": "permanent"}, "refund": {"allowed": True, "fee_percent": 5},
        "transferable": True, "store_scope": "all", "card_no": {"prefix": "8888", "length": 16},
        "deduction_order": "proportional", "terms": FAIR_TERMS,
        "style": {"color": "#C8102E", "logo_url": None},
    },
    "count": {
        "name": "洗车10次卡", "kind": "count", "named": True, "face_value_fen": 30000, "uses": 10,
        "service_name": "标准洗车", "validity": {"type": "relative", "days": 365},
        "refund": {"allowed": True, "fee_percent": 0}, "terms": FAIR_TERMS,
    },
    "points": {
        "name": "积分卡", "kind": "points", "points": {"earn_per_yuan": 1, "points_per_yuan_off": 100},
    },
    "discount": {"name": "折扣卡", "kind": "discount", "discount_percent": 88},
}


def product(kind: str = "stored_value", **fields: object) -> dict:
    """A clean product of ``kind`` with top-level ``fields`` replaced."""
    return {**json.loads(json.dumps(BASES[kind])), **fields}


def validate(data: object) -> ValidationResult:
    return validate_product(data, today=TODAY)


def errors(data: object) -> set[tuple[str, str]]:
    return {(finding.field, finding.code) for finding in validate(data).errors}


def warnings(data: object) -> set[tuple[str, str]]:
    return {(finding.field, finding.code) for finding in validate(data).warnings}


def tier(amount_fen: int, bonus_fen: int = 0) -> dict:
    tiers = [{"amount_fen": amount_fen, "bonus_fen": bonus_fen}]
    return {"enabled": True, "tiers": tiers, "allow_custom": False}


def fixed(start: str | None, end: str | None) -> dict:
    return {"type": "fixed", "start": start, "end": end}


# --- result shape --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BASES))
def test_clean_products_of_every_kind_have_no_findings(kind):
    result = validate(product(kind))
    assert result.ok
    assert result.to_dict() == {"errors": [], "warnings": []}


def test_result_serialises_field_code_and_chinese_message():
    result = validate(product(name=""))
    assert not result.ok
    assert result.to_dict()["errors"] == [
        {"field": "name", "code": "FIELD_REQUIRED", "message": "请填写卡种名称"},
    ]


def test_findings_and_results_are_frozen():
    finding = Finding("name", "FIELD_REQUIRED", "请填写卡种名称")
    with pytest.raises(AttributeError):
        finding.code = "OTHER"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        validate(product()).errors = []  # type: ignore[misc]


def test_every_rule_says_why_in_its_docstring():
    assert len(RULES) >= 25
    assert all(check.__doc__ and check.__doc__.strip() for _, check in RULES)
    assert {severity for severity, _ in RULES} == {"error", "warning"}


# --- required fields, types, choices -------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "   "])
def test_name_is_required(name):
    assert ("name", "FIELD_REQUIRED") in errors(product(name=name))


def test_kind_is_required_and_known():
    assert ("kind", "FIELD_REQUIRED") in errors({**product(), "kind": None})
    assert ("kind", "INVALID_CHOICE") in errors({**product(), "kind": "gift"})


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name": 5}, "name"),
        ({"named": "yes"}, "named"),
        ({"named": 1}, "named"),
        ({"uses": 2.0}, "uses"),
        ({"uses": True}, "uses"),
        ({"top_up": []}, "top_up"),
        ({"top_up": {"enabled": "true", "tiers": []}}, "top_up.enabled"),
        ({"top_up": {"enabled": True, "tiers": [{"amount_fen": 100}, "x"]}}, "top_up.tiers[1]"),
        ({"top_up": {"enabled": True, "tiers": [None]}}, "top_up.tiers[0]"),
        ({"validity": {"type": "fixed", "end": 20300101}}, "validity.end"),
        ({"refund": {"allowed": True, "fee_percent": 5.5}}, "refund.fee_percent"),
        ({"store_scope": 3}, "store_scope"),
        ({"store_scope": [1, None]}, "store_scope[1]"),
        ({"regional_discounts": [{"region_code": 110000, "discount_percent": 90}]},
         "regional_discounts[0].region_code"),
        ({"card_no": {"prefix": 8888, "length": 16}}, "card_no.prefix"),
        ({"style": "red"}, "style"),
        ({"terms": ["概不退款"]}, "terms"),
    ],
)
def test_a_wrong_type_is_one_invalid_type_error(fields, path):
    found = validate(product(**fields)).errors
    assert [(f.field, f.code) for f in found if f.field == path] == [(path, "INVALID_TYPE")]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"validity": {"type": "forever"}}, "validity.type"),
        ({"deduction_order": "random"}, "deduction_order"),
        ({"store_scope": "some"}, "store_scope"),
    ],
)
def test_closed_choices_reject_unknown_values(fields, path):
    assert (path, "INVALID_CHOICE") in errors(product(**fields))


def test_store_scope_is_all_or_a_non_empty_list():
    assert ("store_scope", "STORE_SCOPE_EMPTY") in errors(product(store_scope=[]))
    assert errors(product(store_scope=[1, "2"])) == set()
    assert errors(product(store_scope="all")) == set()


@pytest.mark.parametrize(
    ("color", "ok"), [("#c8102e", True), ("#C8102E", True), ("red", False), ("#C810", False)]
)
def test_style_color_is_hex(color, ok):
    assert (("style.color", "STYLE_COLOR_INVALID") not in errors(product(style={"color": color}))) is ok


# --- money ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [100.5, 100.0, "100", True, [100]])
def test_money_must_be_integer_fen(value):
    assert ("face_value_fen", "MONEY_NOT_INTEGER_FEN") in errors(product(face_value_fen=value))


def test_money_must_not_be_negative():
    assert ("face_value_fen", "MONEY_NEGATIVE") in errors(product(face_value_fen=-1))
    assert ("top_up.tiers[0].bonus_fen", "MONEY_NEGATIVE") in errors(product(top_up=tier(30000, -1)))
    assert ("min_spend_fen", "MONEY_NEGATIVE") in errors(product(min_spend_fen=-100))
    assert errors(product(face_value_fen=0, min_spend_fen=0)) == set()


def test_money_checks_reach_every_money_field():
    top_up = {"enabled": True, "tiers": [{"amount_fen": 1.5, "bonus_fen": "2"}], "allow_custom": True,
              "min_fen": 0.5, "max_fen": -1}
    found = errors(product(top_up=top_up, min_spend_fen=9.9))
    assert {
        ("top_up.tiers[0].amount_fen", "MONEY_NOT_INTEGER_FEN"),
        ("top_up.tiers[0].bonus_fen", "MONEY_NOT_INTEGER_FEN"),
        ("top_up.min_fen", "MONEY_NOT_INTEGER_FEN"),
        ("top_up.max_fen", "MONEY_NEGATIVE"),
        ("min_spend_fen", "MONEY_NOT_INTEGER_FEN"),
    } <= found


# --- validity ------------------------------------------------------------------------------------------


def test_fixed_end_before_start_is_an_error_and_equal_dates_are_fine():
    assert ("validity.end", "VALIDITY_END_BEFORE_START") in errors(
        product("count", validity=fixed("2025-07-02", "2025-07-01"))
    )
    assert errors(product("count", validity=fixed("2025-07-01", "2025-07-01"))) == set()


def test_fixed_end_before_today_is_an_error_and_today_is_fine():
    yesterday = product("count", validity=fixed(None, "2025-05-31"))
    assert ("validity.end", "VALIDITY_END_IN_PAST") in errors(yesterday)
    assert errors(product("count", validity=fixed(None, "2025-06-01"))) == set()


def test_fixed_validity_needs_an_end():
    assert ("validity.end", "FIELD_REQUIRED") in errors(product("count", validity=fixed("2025-06-01", None)))


@pytest.mark.parametrize("value", ["2025/07/01", "2025-02-30", "20250701", "2025-7-1", "明年"])
def test_dates_must_be_real_iso_dates(value):
    assert ("validity.end", "DATE_INVALID") in errors(product("count", validity=fixed(None, value)))
    assert ("validity.start", "DATE_INVALID") in errors(product("count", validity=fixed(value, "2026-01-01")))


@pytest.mark.parametrize(("days", "ok"), [(-5, False), (0, False), (1, True)])
def test_relative_validity_needs_positive_days(days, ok):
    found = errors(product("count", validity={"type": "relative", "days": days}))
    assert (("validity.days", "VALIDITY_DAYS_NOT_POSITIVE") not in found) is ok


def test_relative_validity_needs_days():
    assert ("validity.days", "FIELD_REQUIRED") in errors(product("count", validity={"type": "relative"}))


def test_missing_validity_reads_as_permanent():
    data = product()
    del data["validity"]
    assert errors(data) == set()


@pytest.mark.parametrize(
    "validity",
    [{"type": "relative", "days": 3650}, {"type": "fixed", "start": "2025-06-01", "end": "2099-12-31"}],
)
def test_named_stored_value_card_must_not_expire(validity):
    assert ("validity.type", "NAMED_CARD_HAS_EXPIRY") in errors(product(validity=validity))
    assert ("validity.type", "NAMED_CARD_HAS_EXPIRY") not in errors(product(validity={"type": "permanent"}))


def test_missing_named_flag_reads_as_named():
    data = product(validity={"type": "relative", "days": 3650})
    del data["named"]
    assert ("validity.type", "NAMED_CARD_HAS_EXPIRY") in errors(data)


def test_expiry_rule_is_for_stored_value_only():
    assert errors(product("count", validity={"type": "relative", "days": 30})) == set()


def unnamed(validity: dict) -> dict:
    return product(named=False, validity=validity)


@pytest.mark.parametrize(("days", "ok"), [(1095, False), (1096, True), (3650, True)])
def test_unnamed_relative_validity_is_at_least_three_years(days, ok):
    found = errors(unnamed({"type": "relative", "days": days}))
    assert (("validity.days", "UNNAMED_CARD_VALIDITY_TOO_SHORT") not in found) is ok


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2025-06-01", "2028-05-31", True),  # exactly three years, end day inclusive
        ("2025-06-01", "2028-05-30", False),  # one day less
        ("2024-01-01", "2028-05-31", True),  # a past start counts from today
        ("2024-01-01", "2027-12-31", False),
        ("2025-07-01", "2028-06-30", True),  # a later start counts from the start
        ("2025-07-01", "2028-06-29", False),
        ("2028-02-29", "2031-02-28", True),  # 29 February: three years end on 28 February
        ("2028-02-29", "2031-02-27", False),
        (None, "2028-05-31", True),
    ],
)
def test_unnamed_fixed_validity_is_at_least_three_years(start, end, ok):
    found = errors(unnamed(fixed(start, end)))
    assert (("validity.end", "UNNAMED_CARD_VALIDITY_TOO_SHORT") not in found) is ok


def test_unnamed_permanent_card_is_fine():
    assert errors(unnamed({"type": "permanent"})) == set()


def test_validity_far_in_the_future_does_not_overflow():
    assert errors(unnamed(fixed("9999-01-01", "9999-12-31"))) == set()


# --- refunds and terms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stored_value", "count"])
@pytest.mark.parametrize("refund", [{"allowed": False, "fee_percent": 0}, {"fee_percent": 0}, None])
def test_prepaid_product_must_allow_refund(kind, refund):
    assert ("refund.allowed", "REFUND_NOT_ALLOWED_ON_PREPAID") in errors(product(kind, refund=refund))


def test_a_full_fee_is_no_refund_and_anything_less_is_a_refund():
    found = errors(product(refund={"allowed": True, "fee_percent": 100}))
    assert ("refund.fee_percent", "REFUND_NOT_ALLOWED_ON_PREPAID") in found
    assert errors(product(refund={"allowed": True, "fee_percent": 99})) == set()


def test_refund_rule_is_for_prepaid_products_only():
    assert errors(product("points", refund={"allowed": False})) == set()


@pytest.mark.parametrize(("fee", "ok"), [(-1, False), (0, True), (100, True), (101, False)])
def test_refund_fee_is_a_percent(fee, ok):
    found = errors(product("points", refund={"allowed": True, "fee_percent": fee}))
    assert (("refund.fee_percent", "REFUND_FEE_OUT_OF_RANGE") not in found) is ok


@pytest.mark.parametrize(
    "terms",
    [
        "7日内退款收取5%手续费。",
        "七天内退款扣除10%。",
        "购卡后3个工作日内申请退款需支付手续费",
        "7日以内退卡收取服务费",
    ],
)
def test_a_fee_inside_the_cooling_off_window_is_an_error(terms):
    assert ("terms", "REFUND_FEE_IN_COOLING_OFF") in errors(product(terms=terms))


@pytest.mark.parametrize(
    "terms",
    [
        "7日内未消费可全额退款，不收取手续费。",
        "7日内退款免手续费",
        "7日内未消费可全额退款；超过7日扣除5%手续费。",
        "8日内退款收取手续费",
        "30日内办理退款，扣除5%手续费",
        "1000日内有效，扣除手续费后退款",
    ],
)
def test_fair_wording_about_the_cooling_off_window_passes(terms):
    assert ("terms", "REFUND_FEE_IN_COOLING_OFF") not in errors(product(terms=terms))


def clause_findings(terms: str) -> list[Finding]:
    return [f for f in validate(product(terms=terms)).errors if f.code == "TERMS_FORBIDDEN_CLAUSE"]


@pytest.mark.parametrize(
    "clause", ["概不退款", "余额不退", "不退不换", "不补办", "不得转让", "最终解释权归", "单方调价"]
)
def test_each_forbidden_clause_is_an_error(clause):
    found = clause_findings(f"本卡{clause}本店。")
    assert [f.field for f in found] == ["terms"]
    assert clause in found[0].message


def test_every_forbidden_clause_found_is_reported_once():
    terms = "本卡概不退款，丢失不补办。再说一遍：概不退款。本店保留最终解释权归本店所有。"
    messages = [finding.message for finding in clause_findings(terms)]
    assert len(messages) == 3
    assert ["概不退款" in m for m in messages].count(True) == 1
    assert any("最终解释权归" in m for m in messages)


def test_spaces_do_not_hide_a_forbidden_clause():
    assert ("terms", "TERMS_FORBIDDEN_CLAUSE") in errors(product(terms="本卡 概 不\n退款"))


def test_forbidden_clauses_apply_to_every_kind():
    assert ("terms", "TERMS_FORBIDDEN_CLAUSE") in errors(product("points", terms="本活动解释权归本店所有"))


def test_fair_terms_pass_the_clause_scanner():
    assert errors(product(terms=FAIR_TERMS + "赠送金额不予退还。停业前30日通知。")) == set()


@pytest.mark.parametrize(("kind", "warned"), [("stored_value", True), ("count", True), ("points", False)])
def test_prepaid_product_without_terms_is_a_warning(kind, warned):
    assert (("terms", "TERMS_MISSING") in warnings(product(kind, terms="  "))) is warned


@pytest.mark.parametrize(
    ("kind", "transferable", "warned"),
    [("stored_value", False, True), ("count", False, True), ("stored_value", True, False),
     ("stored_value", None, False), ("points", False, False)],
)
def test_forbidding_transfer_of_a_prepaid_product_is_a_warning(kind, transferable, warned):
    found = warnings(product(kind, transferable=transferable))
    assert (("transferable", "TRANSFER_FORBIDDEN_ON_PREPAID") in found) is warned


# --- stored value and top-ups --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("named", "amount", "bonus", "ok"),
    [(True, 400_000, 100_000, True), (True, 400_000, 100_001, False),
     (False, 90_000, 10_000, True), (False, 90_000, 10_001, False)],
)
def test_stored_value_on_one_card_stays_within_the_cap(named, amount, bonus, ok):
    found = errors(product(named=named, top_up=tier(amount, bonus)))
    assert (("top_up.tiers[0].amount_fen", "CARD_VALUE_CAP_EXCEEDED") not in found) is ok


def test_cap_counts_face_value_plus_the_largest_tier():
    top_up = {"enabled": True, "allow_custom": False, "tiers": [
        {"amount_fen": 100_000, "bonus_fen": 0}, {"amount_fen": 250_000, "bonus_fen": 50_000}]}
    assert errors(product(face_value_fen=200_000, top_up=top_up)) == set()
    found = errors(product(face_value_fen=200_001, top_up=top_up))
    assert ("top_up.tiers[1].amount_fen", "CARD_VALUE_CAP_EXCEEDED") in found


def test_cap_on_face_value_alone():
    no_top_up = {"enabled": False, "tiers": [], "allow_custom": False}
    assert errors(product(face_value_fen=500_000, top_up=no_top_up)) == set()
    found = errors(product(face_value_fen=500_001, top_up=no_top_up))
    assert ("face_value_fen", "CARD_VALUE_CAP_EXCEEDED") in found


def test_cap_counts_custom_maximum_with_the_best_bonus_it_reaches():
    top_up = {"enabled": True, "tiers": [{"amount_fen": 100_000, "bonus_fen": 20_000}], "allow_custom": True,
              "min_fen": 100, "max_fen": 480_000}
    assert errors(product(top_up=top_up)) == set()
    found = errors(product(top_up={**top_up, "max_fen": 480_001}))
    assert ("top_up.max_fen", "CARD_VALUE_CAP_EXCEEDED") in found


def test_cap_ignores_disabled_top_up_and_other_kinds():
    disabled = {"enabled": False, "tiers": [{"amount_fen": 900_000, "bonus_fen": 0}], "allow_custom": False}
    assert errors(product(top_up=disabled, face_value_fen=10_000)) == set()  # a face value, or nothing loads it
    assert errors(product("count", face_value_fen=900_000)) == set()


@pytest.mark.parametrize(("tiers", "ok"), [([{"amount_fen": 0}], False), ([{"bonus_fen": 10}], False),
                                           ([{"amount_fen": 1}], True)])
def test_top_up_tiers_are_positive(tiers, ok):
    found = errors(product(top_up={"enabled": True, "tiers": tiers, "allow_custom": False}))
    assert (("top_up.tiers[0].amount_fen", "TOP_UP_TIER_NOT_POSITIVE") not in found) is ok


def test_custom_top_up_needs_a_maximum_above_its_minimum():
    custom = {"enabled": True, "tiers": [], "allow_custom": True, "min_fen": 1000}
    assert ("top_up.max_fen", "FIELD_REQUIRED") in errors(product(top_up=custom))
    assert ("top_up.min_fen", "TOP_UP_MIN_ABOVE_MAX") in errors(product(top_up={**custom, "max_fen": 999}))
    assert errors(product(top_up={**custom, "max_fen": 1000})) == set()


def test_enabled_top_up_needs_tiers_or_a_custom_amount():
    empty = {"enabled": True, "tiers": [], "allow_custom": False}
    assert ("top_up.tiers", "TOP_UP_NO_AMOUNTS") in errors(product(top_up=empty))
    assert errors(product(top_up={**empty, "allow_custom": True, "max_fen": 10000})) == set()
    assert errors(product(top_up={**empty, "enabled": False}, face_value_fen=10_000)) == set()


@pytest.mark.parametrize(
    ("amount", "bonus", "warned"),
    [(30_000, 9_000, False), (30_000, 9_001, True), (10_001, 3_000, False), (10_001, 3_001, True)],
)
def test_bonus_above_thirty_percent_is_a_warning(amount, bonus, warned):
    found = warnings(product(top_up=tier(amount, bonus)))
    assert (("top_up.tiers[0].bonus_fen", "BONUS_RATIO_HIGH") in found) is warned


@pytest.mark.parametrize(
    ("min_spend", "discount", "warned"),
    [(33_000, None, False), (33_001, None, True), (66_000, 50, False), (66_001, 50, True)],
)
def test_min_spend_above_the_largest_payable_bill_is_a_warning(min_spend, discount, warned):
    found = warnings(product(min_spend_fen=min_spend, discount_percent=discount))  # one tier of 300 + 30
    assert (("min_spend_fen", "MIN_SPEND_UNREACHABLE") in found) is warned


def test_min_spend_warning_is_for_stored_value_only():
    assert warnings(product("discount", min_spend_fen=10_000_000)) == set()


# --- count, points, discount ---------------------------------------------------------------------------


@pytest.mark.parametrize(("uses", "ok"), [(None, False), (-1, False), (0, False), (1, True)])
def test_count_card_needs_uses(uses, ok):
    found = errors(product("count", uses=uses))
    assert (("uses", "COUNT_USES_NOT_POSITIVE") not in found) is ok


@pytest.mark.parametrize(("service_name", "warned"), [(None, True), (" ", True), ("洗剪吹", False)])
def test_count_card_should_name_its_service(service_name, warned):
    found = warnings(product("count", service_name=service_name))
    assert (("service_name", "SERVICE_NAME_MISSING") in found) is warned


@pytest.mark.parametrize(
    ("points", "ok"),
    [(None, False), ({}, False), ({"points_per_yuan_off": 100}, False), ({"earn_per_yuan": 0}, False),
     ({"earn_per_yuan": 1}, True)],
)
def test_points_card_needs_an_earning_rule(points, ok):
    found = errors(product("points", points=points))
    assert (("points.earn_per_yuan", "POINTS_NO_EARNING_RULE") not in found) is ok


def test_points_rates_are_not_negative():
    found = errors(product("points", points={"earn_per_yuan": -1, "points_per_yuan_off": -100}))
    assert found == {
        ("points.earn_per_yuan", "POINTS_RATE_NEGATIVE"),
        ("points.points_per_yuan_off", "POINTS_RATE_NEGATIVE"),
    }


def test_discount_card_needs_a_percent():
    assert ("discount_percent", "FIELD_REQUIRED") in errors(product("discount", discount_percent=None))


@pytest.mark.parametrize(("percent", "ok"), [(0, False), (1, True), (99, True), (100, False), (-88, False)])
def test_discount_percent_is_between_1_and_99(percent, ok):
    found = errors(product("discount", discount_percent=percent))
    assert (("discount_percent", "DISCOUNT_PERCENT_OUT_OF_RANGE") not in found) is ok
    regional = [
        {"region_code": "310000", "discount_percent": 90},
        {"region_code": "540100", "discount_percent": percent},
    ]
    found = errors(product("discount", regional_discounts=regional))
    assert (("regional_discounts[1].discount_percent", "DISCOUNT_PERCENT_OUT_OF_RANGE") not in found) is ok


def test_discount_percent_on_a_stored_value_card_is_checked_too():
    assert ("discount_percent", "DISCOUNT_PERCENT_OUT_OF_RANGE") in errors(product(discount_percent=100))


# --- card numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "ok"), [("8888", True), ("", True), ("88A8", False), ("８８", False), ("-1", False)]
)
def test_card_number_prefix_is_ascii_digits(prefix, ok):
    found = errors(product(card_no={"prefix": prefix, "length": 16}))
    assert (("card_no.prefix", "CARD_NO_PREFIX_NOT_NUMERIC") not in found) is ok


@pytest.mark.parametrize(("length", "ok"), [(11, False), (12, True), (19, True), (20, False)])
def test_card_number_length_is_12_to_19(length, ok):
    found = errors(product(card_no={"prefix": "8", "length": length}))
    assert (("card_no.length", "CARD_NO_LENGTH_OUT_OF_RANGE") not in found) is ok


@pytest.mark.parametrize(("prefix", "ok"), [("1234567", True), ("12345678", False)])
def test_card_number_leaves_room_for_random_digits_and_check_digit(prefix, ok):
    found = errors(product(card_no={"prefix": prefix, "length": 16}))
    assert (("card_no.prefix", "CARD_NO_PREFIX_TOO_LONG") not in found) is ok


# --- never raises --------------------------------------------------------------------------------------

JUNK = [None, True, False, 0, -1, 1.5, float("nan"), 10**40, "", "x", "2025-13-01", [], [None], [1, "a"], {},
        {"a": None}, {"amount_fen": "1"}]
PATHS = [
    "name", "kind", "named", "face_value_fen", "uses", "service_name", "discount_percent", "min_spend_fen",
    "top_up", "top_up.enabled", "top_up.tiers", "top_up.allow_custom", "top_up.min_fen", "top_up.max_fen",
    "points", "points.earn_per_yuan", "points.points_per_yuan_off",
    "validity", "validity.type", "validity.start", "validity.end", "validity.days",
    "refund", "refund.allowed", "refund.fee_percent", "transferable", "stackable_with_coupons",
    "store_scope", "regional_discounts", "card_no", "card_no.prefix", "card_no.length",
    "deduction_order", "terms", "style", "style.color", "style.logo_url",
]


def with_value(data: dict, path: str, value: object) -> dict:
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


@pytest.mark.parametrize("kind", sorted(BASES))
@pytest.mark.parametrize("path", PATHS)
def test_any_value_in_any_field_never_raises(kind, path):
    for value in JUNK:
        data = with_value(product(kind), path, value)
        result = validate(data)
        json.dumps(result.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize("data", [None, [], "stored_value", 42, b"{}"])
def test_a_product_that_is_not_an_object_is_one_error(data):
    assert validate(data).to_dict()["errors"] == [
        {"field": "product", "code": "INVALID_TYPE", "message": "卡种配置必须是一个对象"}
    ]


def random_value(rng: random.Random, depth: int = 0) -> object:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice < 6:
        return rng.choice([*JUNK[:13], rng.randint(-(10**6), 10**6), "2030-01-01", "all", "relative"])
    if choice < 8:
        return {key: random_value(rng, depth + 1) for key in rng.sample(PATH_KEYS, rng.randint(0, 5))}
    return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


PATH_KEYS = sorted({key for path in PATHS for key in path.split(".")} | {"amount_fen", "bonus_fen", "tiers"})


def test_random_nested_junk_never_raises():
    rng = random.Random(20250601)
    for _ in range(2000):
        data = {key: random_value(rng) for key in rng.sample(PATH_KEYS, rng.randint(0, len(PATH_KEYS)))}
        data["kind"] = rng.choice([*BASES, None, 1])
        validate(data).to_dict()


# --- refund example and batch warnings -----------------------------------------------------------------


def test_refund_example_of_the_regulations():
    assert refund_example(100_000, 20_000, 60_000) == RefundExample(customer_reason_fen=40_000,
                                                                   business_fault_fen=50_000)


@pytest.mark.parametrize(
    ("paid", "bonus", "used", "customer", "business"),
    [
        (100_000, 20_000, 0, 100_000, 100_000),
        (100_000, 0, 30_000, 70_000, 70_000),
        (100_000, 20_000, 120_000, 0, 0),
        (100_000, 20_000, 500_000, 0, 0),
        (100_000, 20_000, 110_000, 0, 8_334),  # 110000 × 100000 ÷ 120000 = 91666.67, rounded down
        (1_000, 200, 7, 993, 995),
        (0, 0, 0, 0, 0),
        (0, 5_000, 1_000, 0, 0),
    ],
)
def test_refund_example_stays_within_the_prepayment_and_rounds_for_the_customer(
    paid, bonus, used, customer, business
):
    example = refund_example(paid, bonus, used)
    assert (example.customer_reason_fen, example.business_fault_fen) == (customer, business)
    assert all(isinstance(value, int) for value in (example.customer_reason_fen, example.business_fault_fen))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None])
def test_refund_example_takes_non_negative_integer_fen_only(bad):
    with pytest.raises(ValueError, match="paid_fen"):
        refund_example(bad, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="used_fen"):
        refund_example(100, 0, bad)  # type: ignore[arg-type]


def batch_codes(price: int, quantity: int, limit: int | None) -> list[tuple[str, str]]:
    return [(finding.field, finding.code) for finding in batch_warnings(price, quantity, limit)]


def test_batch_below_real_name_threshold_has_no_warning():
    assert batch_codes(99_999, 10, 10) == []  # 9,999.90 yuan
    assert batch_codes(999_999, 1, None) == []


def test_batch_at_real_name_threshold_warns_on_the_limiting_field():
    assert batch_codes(100_000, 1_000, 10) == [("per_user_limit", "BATCH_REAL_NAME_REQUIRED")]
    assert batch_codes(1_000_000, 1, None) == [("quantity", "BATCH_REAL_NAME_REQUIRED")]


def test_batch_at_bank_transfer_threshold_warns_twice():
    assert batch_codes(4_999_999, 1, None) == [("quantity", "BATCH_REAL_NAME_REQUIRED")]
    assert batch_codes(5_000_000, 1, None) == [
        ("quantity", "BATCH_REAL_NAME_REQUIRED"), ("quantity", "BATCH_BANK_TRANSFER_REQUIRED")]


def test_batch_per_user_limit_is_capped_by_quantity():
    assert batch_codes(100_000, 5, 100) == []  # at most 5 cards, 5,000 yuan


def test_batch_without_limit_counts_the_whole_quantity():
    assert batch_codes(10_000, 100, None) == [("quantity", "BATCH_REAL_NAME_REQUIRED")]


@pytest.mark.parametrize(("price", "quantity", "limit"), [(-1, 10, None), (1.5, 10, None), (True, 10, None),
                                                          (100, "10", None), (100, 10, -1)])
def test_batch_with_malformed_numbers_has_no_warning(price, quantity, limit):
    assert batch_warnings(price, quantity, limit) == []


# --- physical cards ----------------------------------------------------------------------------------


@pytest.mark.parametrize("clause", ["不予挂失", "遗失不补", "丢失不补", "不补发", "不予补办"])
def test_refusing_replacement_is_a_void_clause(clause):
    found = clause_findings(f"本卡为记名卡，{clause}。")
    assert [f.field for f in found] == ["terms"]
    assert clause in found[0].message and "挂失补办" in found[0].message


def face_findings(form: str, width: int, height: int) -> list[Finding]:
    data = product(form=form, face_image={"width": width, "height": height})
    return [f for f in validate(data).errors if f.code == "FACE_SIZE"]


@pytest.mark.parametrize("size", [(1011, 638), (2022, 1276), (1016, 640)])
def test_a_print_sized_face_at_the_cr80_ratio_passes(size):
    assert face_findings("physical", *size) == []


# (1010, 638) and (1011, 637) are within the ratio: one pixel short on one side alone is refused.
@pytest.mark.parametrize("size", [(800, 505), (1010, 637), (1010, 638), (1011, 637), (1200, 638), (1011, 800)])
def test_a_physical_face_too_small_or_out_of_ratio_is_face_size(size):
    (finding,) = face_findings("physical", *size)
    assert finding.field == "face_image"
    assert f"{size[0]}×{size[1]}" in finding.message  # the size found


def test_a_virtual_product_may_have_any_face():
    assert face_findings("virtual", 640, 400) == []


def test_the_form_is_a_closed_choice():
    assert ("form", "INVALID_CHOICE") in errors(product(form="plastic"))
