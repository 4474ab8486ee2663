"""GB/T 2260 administrative divisions (行政区划代码), shipped as data: names for the codes that stores,
merchants, batches and regional discounts carry, and the tree the console's region picker offers.

Coverage (gbt2260.json says it too): every province-level division; every district of the four
municipalities; the provincial capitals and other major cities, with the districts of the largest.
A code the data lacks still works everywhere; it is named after the nearest level the data has.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_DATA = Path(__file__).with_name("gbt2260.json")
#: The city level of a municipality (北京市 → 市辖区) is no name a person uses.
_MUNICIPAL_CITY = "市辖区"


@cache
def region_tree() -> dict[str, Any]:
    """``{standard, coverage, provinces: [{code, name, cities: [{code, name, districts: [...]}]}]}``."""
    return json.loads(_DATA.read_text(encoding="utf-8"))


@cache
def _names() -> dict[str, str]:
    names = {}
    for province in region_tree()["provinces"]:
        names[province["code"]] = province["name"]
        for city in province["cities"]:
            names[city["code"]] = city["name"]
            for district in city["districts"]:
                names[district["code"]] = district["name"]
    return names


def region_name(code: str | None) -> str:
    """The full name of a 6-digit code: 上海市黄浦区, 广东省深圳市南山区, 四川省 (a province), 江苏省无锡市;
    a district the data lacks reads as its city or province with the code (江苏省无锡市（320211）);
    a code of no known province is returned as it is."""
    if not code:
        return ""
    names = _names()
    province, city = code[:2] + "0000", code[:4] + "00"
    if province not in names:
        return code
    parts = [names[province]]
    if city != province:
        city_name = names.get(city)
        if city_name and city_name != _MUNICIPAL_CITY:
            parts.append(city_name)
        if code != city:
            if code in names:
                parts.append(names[code])
            else:
                return "".join(parts) + f"（{code}）"
        elif city_name is None:
            return "".join(parts) + f"（{code}）"
    return "".join(parts)


def known(code: str) -> bool:
    return code in _names()
