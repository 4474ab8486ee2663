"""Format checks for Chinese business identifiers. Pure functions."""

from __future__ import annotations

import re

#: GB 32100-2015 alphabet of the unified social credit code (no I, O, Z, S, V).
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: Province-level prefixes of GB/T 2260 region codes.
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015 check)."""
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """18 characters of the GB 32100 alphabet with a correct check character."""
    if len(code) != 18 or any(ch not in _USCC_CHARS for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def is_valid_region_code(code: str) -> bool:
    """Six digits starting with a GB/T 2260 province code."""
    return len(code) == 6 and code.isdigit() and code[:2] in _PROVINCES


def region_precision(code: str) -> int:
    """Significant digits of a GB/T 2260 code: 2 for a province (310000), 4 for a city (310100),
    6 for a district or county (310101)."""
    return 2 if code.endswith("0000") else 4 if code.endswith("00") else 6


def region_covers(area: str, region: str) -> bool:
    """Whether ``region`` lies in ``area``: a province contains its cities and districts, a city its
    districts, a district only itself."""
    digits = region_precision(area)
    return region[:digits] == area[:digits]


def is_valid_mobile(phone: str) -> bool:
    return bool(_MOBILE.match(phone))
