"""Issue 14's validation rules: face value or top-up, misleading names, and the Beijing and Shanghai
local prepaid rules (docs/regulations.md 16–18) applied by the regions of the stores in scope.
Each rule is tested on both sides of its threshold."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from server.products.regional_rules import MONTHS_24_MAX_DAYS, REGIONAL_RULES, rules_for
from server.products.validation import validate_product

TODAY = date(2026, 6, 1)
TERMS = (
    "购卡之日起7日内且未消费的，可全额退还本金，不收取任何费用；超过7日的，扣除剩余本金的5%作为手续费后退还。"
    "本卡可转赠，记名卡遗失可挂失补办。本店如停业或迁址，将至少提前30日通知持卡人。"
)
STORED = {
    "name": "会员储值卡", "kind": "stored_value", "named": True, "face_value_fen": 0,
    "top_up": {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}], "allow_custom": False},
    "validity": {"type": "permanent"}, "refund": {"allowed": True, "fee_percent": 5}, "transferable": True,
    "store_scope": "all", "card_no": {"prefix": "8888", "length": 16}, "terms": TERMS,
}
COUNT = {
    "name": "洗车10次卡", "kind": "count", "named": True, "face_value_fen": 30000, "uses": 10,
    "service_name": "标准洗车", "validity": {"type": "relative", "days": 365},
    "refund": {"allowed": True, "fee_percent": 0}, "terms": TERMS,
}
POINTS = {"name": "积分卡", "kind": "points", "points": {"earn_per_yuan": 1, "points_per_yuan_off": 100}}
BEIJING, SHANGHAI, LHASA = "110105", "310101", "540102"


def make(base: dict, **fields) -> dict:
    return {**copy.deepcopy(base), **fields}


def findings(data: dict, regions=(), industry: str | None = None, today: date = TODAY):
    result = validate_product(data, today=today, region_codes=regions, industry=industry)
    return {f.code for f in result.errors}, {f.code for f in result.warnings}


def errors(data: dict, *args, **kwargs) -> set[str]:
    return findings(data, *args, **kwargs)[0]


def warnings(data: dict, *args, **kwargs) -> set[str]:
    return findings(data, *args, **kwargs)[1]


def test_the_bases_are_clean_everywhere():
    for base in (STORED, COUNT, POINTS):
        for regions in ((), (BEIJING,), (SHANGHAI,), (LHASA,)):
            assert findings(base, regions) == (set(), set()), (base["name"], regions)


# --- face value and top-up ---------------------------------------------------------------------------

NEITHER = "FACE_VALUE_OR_TOP_UP_REQUIRED"


def test_a_stored_value_card_with_neither_face_value_nor_top_up_is_an_error():
    assert NEITHER in errors(make(STORED, top_up={"enabled": False, "tiers": []}))
    assert NEITHER in errors(make(STORED, top_up={"enabled": False}, face_value_fen=None))
    assert NEITHER in errors({k: v for k, v in STORED.items() if k not in ("top_up", "face_value_fen")})


def test_one_fen_of_face_value_or_top_ups_is_enough():
    assert NEITHER not in errors(make(STORED, top_up={"enabled": False}, face_value_fen=1))
    assert NEITHER not in errors(make(STORED, face_value_fen=0))  # top-ups enabled


def test_the_face_value_rule_is_for_stored_value_only():
    assert NEITHER not in errors(make(COUNT, face_value_fen=0))
    assert NEITHER not in errors(POINTS)


def test_a_mistyped_face_value_is_reported_once_as_a_type():
    found = errors(make(STORED, top_up={"enabled": False}, face_value_fen="100"))
    assert NEITHER not in found and "MONEY_NOT_INTEGER_FEN" in found


def test_the_message_names_the_confusion():
    result = validate_product(make(STORED, top_up={"enabled": False}), today=TODAY)
    assert any("面值与使用规则混淆" in f.message for f in result.errors)


# --- misleading names --------------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "name", "code"), [
    (STORED, "会员次卡", "NAME_KIND_MISMATCH"),
    (COUNT, "洗车储值卡", "NAME_KIND_MISMATCH"),
    (COUNT, "洗车充值卡", "NAME_KIND_MISMATCH"),
    (STORED, "会员积分卡", "NAME_KIND_MISMATCH"),
    (POINTS, "会员折扣卡", "NAME_KIND_MISMATCH"),
    (COUNT, "无限洗车卡", "NAME_PROMISES_UNLIMITED"),
    (COUNT, "洗车不限次卡", "NAME_PROMISES_UNLIMITED"),
    (STORED, "无限畅享卡", "NAME_PROMISES_UNLIMITED"),
    (COUNT, "永久洗车10次卡", "NAME_PROMISES_PERMANENT"),
    (COUNT, "终身洗车10次卡", "NAME_PROMISES_PERMANENT"),
    (STORED, "免费储值卡", "NAME_PROMISES_FREE"),
    (COUNT, "免费洗车10次卡", "NAME_PROMISES_FREE"),
])
def test_a_name_promising_what_the_rules_do_not_is_a_warning(base, name, code):
    assert code in warnings(make(base, name=name))
    assert not errors(make(base, name=name))


@pytest.mark.parametrize(("base", "name"), [
    (STORED, "会员储值卡"), (COUNT, "洗车10次卡"), (POINTS, "会员积分卡"),
    (STORED, "永久会员储值卡"),  # permanent validity keeps the promise
    (POINTS, "免费积分卡"),  # claimed for free
    (POINTS, "无限积分卡"),  # earns without limit
    (STORED, "无限期储值卡"),  # 无限期 is a validity, and a permanent one
])
def test_a_name_the_rules_keep_is_no_warning(base, name):
    assert not {w for w in warnings(make(base, name=name)) if w.startswith("NAME_")}


def test_permanent_in_the_name_turns_on_the_validity_type():
    permanent = make(COUNT, name="永久洗车10次卡", validity={"type": "permanent"})
    assert "NAME_PROMISES_PERMANENT" not in warnings(permanent)
    fixed = make(permanent, validity={"type": "fixed", "start": "2026-06-01", "end": "2027-06-01"})
    assert "NAME_PROMISES_PERMANENT" in warnings(fixed)


def test_the_warning_says_how_many_uses_there_are():
    result = validate_product(make(COUNT, name="无限洗车卡"), today=TODAY)
    messages = [f.message for f in result.warnings if f.code == "NAME_PROMISES_UNLIMITED"]
    assert messages == ["卡名含「无限」，但次卡只有 10 次"]


def test_spaces_do_not_hide_a_word_and_a_missing_name_raises_nothing():
    assert "NAME_KIND_MISMATCH" in warnings(make(STORED, name="会员 次 卡"))
    assert "FIELD_REQUIRED" in errors(make(STORED, name=None))
    assert "INVALID_TYPE" in errors(make(STORED, name=5))


# --- regional rules: which apply ---------------------------------------------------------------------


def test_rules_apply_by_region_prefix_and_industry():
    names = lambda rules: [r.region_name for r in rules]  # noqa: E731
    assert names(rules_for([BEIJING], None, TODAY)) == ["北京市"]
    assert names(rules_for([SHANGHAI], "cafe", TODAY)) == ["上海市"]
    assert names(rules_for([SHANGHAI], "fitness", TODAY)) == ["上海市", "上海市健身行业"]
    assert names(rules_for([LHASA, BEIJING], None, TODAY)) == ["北京市"]  # any store in the region
    assert rules_for([LHASA], "fitness", TODAY) == [] and rules_for([], None, TODAY) == []
    assert rules_for(["121000"], None, TODAY) == []  # 12 is Tianjin, not a Beijing code


def test_the_fitness_rule_is_in_force_from_march_2025_to_2026():
    assert [r.region_name for r in rules_for([SHANGHAI], "fitness", date(2025, 3, 1))][-1] == "上海市健身行业"
    assert [r.region_name for r in rules_for([SHANGHAI], "fitness", date(2025, 2, 28))] == ["上海市"]
    assert [r.region_name for r in rules_for([SHANGHAI], "fitness", date(2026, 12, 31))][-1] == "上海市健身行业"
    assert [r.region_name for r in rules_for([SHANGHAI], "fitness", date(2027, 1, 1))] == ["上海市"]


def test_the_table_holds_beijing_and_shanghai():
    assert {rule.region_prefix for rule in REGIONAL_RULES} == {"11", "31"}


# --- Beijing -----------------------------------------------------------------------------------------

SLOW = "REGION_REFUND_TOO_SLOW"


@pytest.mark.parametrize(("sentence", "slow"), [
    ("退款将在15日内退还至原支付账户", False),
    ("退款将在16日内退还至原支付账户", True),
    ("申请退款后10个工作日内到账", False),  # 10 working days span 14 days
    ("申请退款后11个工作日内到账", True),  # 11 working days span 16
    ("自激活之日起730天内有效", False),  # not a refund payout
])
def test_beijing_refunds_are_paid_within_15_days(sentence, slow):
    data = make(STORED, terms=TERMS + sentence + "。")
    assert (SLOW in errors(data, [BEIJING])) is slow
    assert SLOW not in errors(data, [SHANGHAI]) and SLOW not in errors(data)


SHORT = "REGION_COOLING_OFF_TOO_SHORT"


@pytest.mark.parametrize(("days", "short"), [(6, True), (7, False), (10, False)])
def test_beijing_full_refund_window_is_at_least_7_days(days, short):
    data = make(STORED, terms=TERMS.replace("7日内且未消费的", f"{days}日内且未消费的"))
    assert (SHORT in errors(data, [BEIJING])) is short
    assert SHORT not in errors(data, [SHANGHAI])


def test_beijing_rules_are_for_prepaid_products_only():
    points = make(POINTS, terms="3日内可全额退款。退款在30日内到账。")
    assert not errors(points, [BEIJING])


# --- Shanghai ----------------------------------------------------------------------------------------

NO_CANCEL = "REGION_TERMS_NO_CANCELLATION"


def test_shanghai_terms_say_how_to_cancel():
    silent = make(STORED, terms="本卡可转赠，记名卡遗失可挂失补办。")
    assert NO_CANCEL in errors(silent, [SHANGHAI])
    assert NO_CANCEL not in errors(silent, [BEIJING]) and NO_CANCEL not in errors(silent)
    assert NO_CANCEL not in errors(make(silent, terms="可随时申请退卡。"), [SHANGHAI])
    assert NO_CANCEL in errors(make(silent, terms=""), [SHANGHAI])


NOTICE = "REGION_CLOSURE_NOTICE_TOO_SHORT"


@pytest.mark.parametrize(("days", "short"), [(29, True), (30, False), (60, False)])
def test_shanghai_closure_notice_is_30_days(days, short):
    data = make(STORED, terms=TERMS.replace("提前30日", f"提前{days}日"))
    assert (NOTICE in errors(data, [SHANGHAI])) is short
    assert NOTICE not in errors(data, [BEIJING])


def test_a_notice_about_something_else_is_not_a_closure_notice():
    data = make(STORED, terms=TERMS + "价格调整将提前7日公示。")
    assert NOTICE not in errors(data, [SHANGHAI])


# --- Shanghai fitness --------------------------------------------------------------------------------


@pytest.mark.parametrize(("uses", "over"), [(60, False), (61, True)])
def test_shanghai_fitness_class_packages_hold_at_most_60_sessions(uses, over):
    data = make(COUNT, uses=uses)
    assert ("REGION_COUNT_USES_CAP_EXCEEDED" in errors(data, [SHANGHAI], "fitness")) is over
    assert "REGION_COUNT_USES_CAP_EXCEEDED" not in errors(data, [SHANGHAI], "cafe")
    assert "REGION_COUNT_USES_CAP_EXCEEDED" not in errors(data, [BEIJING], "fitness")


@pytest.mark.parametrize(("price", "over"), [(2_000_000, False), (2_000_001, True)])
def test_shanghai_fitness_class_packages_cost_at_most_20000_yuan(price, over):
    data = make(COUNT, face_value_fen=price)
    assert ("REGION_COUNT_PRICE_CAP_EXCEEDED" in errors(data, [SHANGHAI], "fitness")) is over


@pytest.mark.parametrize(("days", "over"), [(MONTHS_24_MAX_DAYS, False), (MONTHS_24_MAX_DAYS + 1, True)])
def test_shanghai_fitness_memberships_last_at_most_24_months(days, over):
    data = make(COUNT, validity={"type": "relative", "days": days})
    assert ("REGION_VALIDITY_CAP_EXCEEDED" in errors(data, [SHANGHAI], "fitness")) is over


def test_a_fixed_fitness_period_counts_its_days_inclusive():
    ok = make(COUNT, validity={"type": "fixed", "start": "2026-06-01", "end": "2028-05-31"})  # 731 days
    assert "REGION_VALIDITY_CAP_EXCEEDED" not in errors(ok, [SHANGHAI], "fitness")
    over = make(COUNT, validity={"type": "fixed", "start": "2026-06-01", "end": "2028-06-01"})
    assert "REGION_VALIDITY_CAP_EXCEEDED" in errors(over, [SHANGHAI], "fitness")


def test_the_fitness_stored_value_cap_does_not_repeat_the_national_cap():
    # Named: 5,000 yuan nationally too, so only the national finding; one fen over is refused once.
    over = make(STORED, top_up={"enabled": True, "tiers": [{"amount_fen": 500_001, "bonus_fen": 0}]})
    found = errors(over, [SHANGHAI], "fitness")
    assert "CARD_VALUE_CAP_EXCEEDED" in found and "REGION_STORED_VALUE_CAP_EXCEEDED" not in found
    at_cap = make(STORED, top_up={"enabled": True, "tiers": [{"amount_fen": 500_000, "bonus_fen": 0}]})
    assert not {e for e in errors(at_cap, [SHANGHAI], "fitness") if "CAP" in e}


def test_a_daily_pass_is_a_membership_not_a_class_package():
    quarter = make(COUNT, uses=90, validity={"type": "relative", "days": 90})  # one entry a day
    assert "REGION_COUNT_USES_CAP_EXCEEDED" not in errors(quarter, [SHANGHAI], "fitness")
    fewer_uses = make(quarter, uses=89)  # fewer uses than days: sessions sold, a class package
    assert "REGION_COUNT_USES_CAP_EXCEEDED" in errors(fewer_uses, [SHANGHAI], "fitness")
    permanent = make(COUNT, uses=90, validity={"type": "permanent"})
    assert "REGION_COUNT_USES_CAP_EXCEEDED" in errors(permanent, [SHANGHAI], "fitness")


def test_every_template_meets_the_rules_of_beijing_and_shanghai():
    from server.templates_library import load_templates

    for template in load_templates():
        for regions, industry in (([BEIJING], template["industry"]), ([SHANGHAI], template["industry"])):
            assert findings(template["defaults"], regions, industry) == (set(), set()), (template["code"], regions)
