"""The industry template library: enough templates, well formed, and every one validates clean."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

import server.templates_library as library
from server.products.validation import KINDS, PREPAID_KINDS, validate_product
from server.templates_library import get_template, load_templates

DATA_DIR = Path(library.__file__).parent / "data"
PRODUCT_FIELDS = {
    "name", "kind", "named", "face_value_fen", "top_up", "uses", "service_name", "discount_percent", "points",
    "min_spend_fen", "validity", "refund", "transferable", "stackable_with_coupons", "store_scope",
    "regional_discounts", "card_no", "deduction_order", "terms", "style",
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
TEMPLATES = load_templates()


def test_library_has_at_least_twelve_templates_across_eight_industries():
    assert len(TEMPLATES) >= 12
    assert len({template["industry"] for template in TEMPLATES}) >= 8


def test_library_covers_every_kind():
    assert {template["kind"] for template in TEMPLATES} == set(KINDS)


def test_codes_are_unique_and_name_their_file():
    codes = [template["code"] for template in TEMPLATES]
    assert len(codes) == len(set(codes))
    assert sorted(path.stem for path in DATA_DIR.glob("*.json")) == sorted(codes)


def test_card_number_prefixes_are_numeric_distinct_and_not_prefixes_of_each_other():
    prefixes = [template["defaults"]["card_no"]["prefix"] for template in TEMPLATES]
    assert all(prefix.isascii() and prefix.isdigit() for prefix in prefixes)
    assert len(prefixes) == len(set(prefixes))
    assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template["code"])
def test_template_is_a_complete_product_in_chinese(template):
    assert set(template) >= {"code", "industry", "industry_name", "name", "kind", "description", "defaults"}
    defaults = template["defaults"]
    assert set(defaults) >= PRODUCT_FIELDS
    assert defaults["kind"] == template["kind"]
    for text in (template["name"], template["industry_name"], template["description"], defaults["name"]):
        assert CHINESE.search(text)
    assert re.fullmatch(r"#[0-9A-F]{6}", defaults["style"]["color"])
    assert defaults["validity"]["type"] in ("permanent", "relative")  # fixed dates would age


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template["code"])
@pytest.mark.parametrize("today", [date.today(), date.today() + timedelta(days=3650)])
def test_template_validates_without_errors_or_warnings_now_and_later(template, today):
    result = validate_product(template["defaults"], today=today)
    assert result.to_dict() == {"errors": [], "warnings": []}


@pytest.mark.parametrize(
    "template", [t for t in TEMPLATES if t["kind"] in PREPAID_KINDS], ids=lambda template: template["code"]
)
def test_prepaid_template_terms_state_the_refund_rules(template):
    defaults = template["defaults"]
    assert defaults["refund"]["allowed"] is True
    assert "7日内" in defaults["terms"]
    assert "退款" in defaults["terms"]
    assert defaults["transferable"] is True


def test_data_files_are_readable_utf8_not_escaped():
    for path in DATA_DIR.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "\\u" not in text
        assert CHINESE.search(text)


def test_get_template_finds_by_code():
    code = TEMPLATES[0]["code"]
    assert get_template(code) == TEMPLATES[0]
    assert get_template("no_such_template") is None
    assert get_template(["not", "a", "code"]) is None  # type: ignore[arg-type]


def test_callers_get_copies_and_cannot_change_the_library():
    template = get_template(TEMPLATES[0]["code"])
    template["defaults"]["top_up"]["tiers"].clear()
    template["name"] = "changed"
    load_templates()[0]["defaults"]["card_no"]["prefix"] = "0"
    assert load_templates() == TEMPLATES
    assert get_template(TEMPLATES[0]["code"]) == TEMPLATES[0]
