"""A merchant signs itself up in the console, with its documents, and lands signed in, awaiting review."""

from __future__ import annotations

import io
import uuid

from PIL import Image
from playwright.sync_api import expect

from tests.factories import license_no_for


def _png() -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 50), "white").save(buffer, "PNG")
    return {"name": "scan.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def test_a_merchant_signs_up_with_its_documents(live_server, new_page, screenshot):
    page = new_page("newcomer")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/console/login")
    page.get_by_role("link", name="商户入驻").click()
    expect(page.get_by_role("heading", name="商户入驻")).to_be_visible()
    page.get_by_role("button", name="提交入驻申请").click()  # nothing filled: everything is listed at once
    expect(page.locator("[data-error-summary] li")).to_have_count(7)
    screenshot(page, "01-every-problem")

    suffix = uuid.uuid4().hex[:6]
    page.get_by_label("商户名称").fill(f"街角咖啡 {suffix}")
    page.get_by_label("商户类型").select_option(label="个体")
    page.get_by_label("行业").select_option(label="咖啡")
    page.get_by_label("省份").select_option(label="浙江省")
    page.get_by_label("城市").select_option(label="杭州市")
    page.get_by_label("区县").select_option(label="西湖区")
    expect(page.locator("[data-region-name]")).to_have_text("浙江省杭州市西湖区")
    page.get_by_label("统一社会信用代码").fill(license_no_for(int(suffix, 16) % 9_000_000 + 100_000))
    page.get_by_label("法定代表人").fill("李四")
    page.get_by_label("联系电话").fill("13912345678")
    page.get_by_label("用户名").fill(f"corner_{suffix}")
    page.get_by_label("密码", exact=True).fill("coffee-2026-ok")
    page.get_by_label("确认密码").fill("coffee-2026-ok")
    page.get_by_label("营业执照").set_input_files(_png())
    page.get_by_label("法人身份证").set_input_files(_png())
    screenshot(page, "02-filled")
    page.get_by_role("button", name="提交入驻申请").click()
    expect(page.get_by_role("status")).to_contain_text("入驻申请已提交")
    expect(page.locator(".merchant-status")).to_contain_text("待审核")
    screenshot(page, "03-signed-in-awaiting-review")
    page.goto("/console/documents")
    expect(page.locator("body")).to_contain_text("营业执照")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
