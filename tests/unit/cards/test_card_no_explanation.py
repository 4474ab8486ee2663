"""The card-number rule explained for review (卡号生成逻辑说明), built from the product's card_no settings."""

import re

import pytest

from server.cards.numbers import (
    CARD_NO_ATTEMPTS,
    DEFAULT_LENGTH,
    SECRET_DIGITS,
    card_no_settings,
    explain_card_no_rule,
    generate_card_no,
    luhn_valid,
)

UNUSABLE = "无法生成卡号"


def _sample(lines: list[str]) -> str:
    return re.search(r"例如 ([0-9]+)", lines[0]).group(1)


def test_the_explanation_names_prefix_length_random_digits_and_check_digit():
    lines = explain_card_no_rule({"prefix": "8801", "length": 16})
    assert lines[0].startswith("卡号结构：共 16 位纯数字 = 固定前缀「8801」（4 位） + 11 位随机数字 + 1 位 Luhn 校验位")
    sample = _sample(lines)
    assert len(sample) == 16 and sample.startswith("8801") and luhn_valid(sample)
    assert "10^11 种组合" in lines[1]
    assert "Luhn" in lines[2]
    assert "全平台唯一" in lines[3] and f"最多尝试 {CARD_NO_ATTEMPTS} 次" in lines[3]
    assert f"{SECRET_DIGITS} 位随机数字卡密" in lines[4] and "加密存储" in lines[4]


def test_the_example_is_what_the_generator_makes_from_a_fixed_source():
    class Ones:
        def randbelow(self, bound):
            return int("1234567890123456789"[:len(str(bound - 1))]) % bound

    assert _sample(explain_card_no_rule({"prefix": "62", "length": 18})) == generate_card_no("62", 18, Ones())


def test_an_empty_rule_is_the_issuing_default():
    assert card_no_settings({}) == card_no_settings(None) == ("", DEFAULT_LENGTH)
    lines = explain_card_no_rule({})
    assert f"共 {DEFAULT_LENGTH} 位纯数字 = 无固定前缀 + {DEFAULT_LENGTH - 1} 位随机数字" in lines[0]


@pytest.mark.parametrize("length", [12, 19])
def test_the_length_bounds_are_explained(length):
    lines = explain_card_no_rule({"prefix": "", "length": length})
    assert len(_sample(lines)) == length and len(lines) == 5


@pytest.mark.parametrize("length", [11, 20])
def test_a_length_outside_the_bounds_is_unusable(length):
    lines = explain_card_no_rule({"prefix": "", "length": length})
    assert len(lines) == 1 and UNUSABLE in lines[0]


def test_a_prefix_leaving_eight_random_digits_is_explained_and_one_digit_longer_is_unusable():
    assert "8 位随机数字" in explain_card_no_rule({"prefix": "1234567", "length": 16})[0]
    assert UNUSABLE in explain_card_no_rule({"prefix": "12345678", "length": 16})[0]


@pytest.mark.parametrize("prefix", ["88A1", "８８", 88])
def test_a_non_numeric_prefix_is_unusable(prefix):
    assert UNUSABLE in explain_card_no_rule({"prefix": prefix, "length": 16})[0]


@pytest.mark.parametrize("length", ["16", 16.5])
def test_a_mistyped_length_is_unusable_not_an_error(length):
    """A length typed as text (or not a whole number) tells the merchant the rule is unusable."""
    lines = explain_card_no_rule({"prefix": "62", "length": length})
    assert len(lines) == 1 and UNUSABLE in lines[0]
