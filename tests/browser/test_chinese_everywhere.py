"""What a person reads: every refused field at once in a summary that links to each; regions picked
by name; the audit log in words and yuan with the address."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from server.db import db
from server.demo import MERCHANT_LICENSE
from server.merchants.models import Merchant
from tests import issuance_support
from tests.browser.test_issuance_and_counter_journeys import _published_product


def test_a_refused_batch_form_lists_every_problem_with_links(live_server, new_page, sign_in_staff, screenshot):
    _published_product(live_server, f"储值卡 {uuid.uuid4().hex[:6]}")
    with live_server.app.app_context():
        merchant_id = db.session.scalar(select(Merchant.id).where(Merchant.license_no == MERCHANT_LICENSE))
    issuance_support.channel(live_server.app, merchant_id, name=f"地推 {uuid.uuid4().hex[:4]}")
    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    owner.goto("/console/batches/new")
    owner.get_by_label("批次名称").fill("")
    owner.get_by_label("发行方式").select_option(label="免费领取")
    owner.get_by_label("发行数量（张）").fill("abc")
    owner.get_by_label("售价（元；免费领取填 0）").fill("5")
    owner.get_by_role("button", name="创建批次").click()
    summary = owner.locator("[data-error-summary]")
    expect(summary).to_contain_text("请修改以下")
    expect(summary.locator("li")).to_have_count(3)
    expect(summary).to_contain_text("批次名称：必填")
    expect(summary).to_contain_text("免费领取批次的价格应为 0")
    expect(owner.locator("body")).not_to_contain_text("请求参数有误")
    screenshot(owner, "01-every-error-at-once")
    summary.get_by_role("link", name="发行数量：必须是整数").click()
    expect(owner.get_by_label("发行数量（张）")).to_be_focused()


def test_a_store_region_is_picked_by_name_and_shown_by_name(live_server, new_page, sign_in_staff, screenshot):
    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    owner.goto("/console/stores")
    expect(owner.locator('td[data-region="310101"]').first).to_have_text("上海市黄浦区")
    owner.get_by_label("省份").select_option(label="广东省")
    owner.get_by_label("城市").select_option(label="深圳市")
    owner.get_by_label("区县").select_option(label="南山区")
    code = owner.get_by_label("所在地区（GB/T 2260 行政区划代码）")
    expect(code).to_have_value("440305")
    expect(owner.locator("[data-region-name]")).to_have_text("广东省深圳市南山区")
    name = f"科技园店 {uuid.uuid4().hex[:4]}"
    owner.get_by_label("门店名称").fill(name)
    screenshot(owner, "01-region-picker")
    owner.get_by_role("button", name="创建门店").click()
    expect(owner.get_by_role("row", name=name)).to_contain_text("广东省深圳市南山区")
    code.fill("540102")  # typing a code picks it in the lists too
    expect(owner.get_by_label("区县")).to_have_value("540102")
    expect(owner.locator("[data-region-name]")).to_have_text("西藏自治区拉萨市城关区")

    owner.get_by_role("navigation", name="主菜单").get_by_role("link", name="审计日志").click()
    row = owner.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("新建门店")
    expect(row).to_contain_text("地区：广东省深圳市南山区")
    expect(row.locator("[data-ip]")).to_have_text("127.0.0.1")
    screenshot(owner, "02-audit-in-words")
