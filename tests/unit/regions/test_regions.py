"""GB/T 2260 names shipped as data: every province, the municipalities' districts, major cities; an
unknown district still reads by its nearest known level."""

import re

from server.regions import region_name, region_tree


def test_the_data_names_every_province_and_the_demo_regions():
    provinces = region_tree()["provinces"]
    assert len(provinces) == 34 and all(re.fullmatch(r"\d{2}0000", p["code"]) for p in provinces)
    codes = [d["code"] for p in provinces for c in p["cities"] for d in c["districts"]]
    codes += [c["code"] for p in provinces for c in p["cities"]]
    assert len(codes) == len(set(codes))
    for province in provinces:
        for city in province["cities"]:
            assert city["code"][:2] == province["code"][:2]
            assert all(d["code"][:4] == city["code"][:4] for d in city["districts"])
    assert "coverage" in region_tree() and region_tree()["standard"].startswith("GB/T 2260")


def test_names_read_as_people_say_them():
    assert region_name("310101") == "上海市黄浦区"  # the demo's stores
    assert region_name("310104") == "上海市徐汇区"
    assert region_name("540102") == "西藏自治区拉萨市城关区"
    assert region_name("440305") == "广东省深圳市南山区"
    assert region_name("320000") == "江苏省" and region_name("110000") == "北京市"
    assert region_name("110100") == "北京市"  # 市辖区 is no name a person uses
    assert region_name("320211") == "江苏省无锡市（320211）"  # a district the data lacks
    assert region_name("999999") == "999999" and region_name("") == ""
