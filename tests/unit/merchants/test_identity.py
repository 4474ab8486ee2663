"""Unified social credit codes, region codes (and the areas they cover) and mobile numbers."""

import pytest

from server.merchants.identity import (
    is_valid_mobile,
    is_valid_region_code,
    is_valid_uscc,
    region_covers,
    uscc_check_char,
)


def test_a_published_real_world_code_passes():
    assert is_valid_uscc("91350100M000100Y43")


def test_a_wrong_check_character_fails():
    code = "91350100M000100Y4"
    wrong = next(ch for ch in "0123456789" if ch != uscc_check_char(code))
    assert not is_valid_uscc(code + wrong)


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100I43",
                                  "91350100m000100Y43"])
def test_malformed_codes_fail(code):
    assert not is_valid_uscc(code)


@pytest.mark.parametrize(("code", "ok"), [("310101", True), ("110105", True), ("540102", True),
                                          ("990101", False), ("31010", False), ("31010a", False)])
def test_region_codes(code, ok):
    assert is_valid_region_code(code) is ok


@pytest.mark.parametrize(("phone", "ok"), [("13800138000", True), ("19912345678", True), ("12800138000", False),
                                           ("1380013800", False), ("+8613800138000", False)])
def test_mobile_numbers(phone, ok):
    assert is_valid_mobile(phone) is ok


@pytest.mark.parametrize(("area", "region", "covered"), [
    ("310000", "310101", True),   # a province holds its districts
    ("310000", "310000", True),
    ("310100", "310115", True),   # a city holds its districts
    ("310100", "310000", False),  # but not its province
    ("310101", "310101", True),   # a district holds itself only
    ("310101", "310104", False),
    ("500000", "500101", True),   # Chongqing: the province's digits are 50, not 5
    ("500000", "510104", False),
])
def test_region_areas_contain_their_subdivisions(area, region, covered):
    assert region_covers(area, region) is covered
