"""Test mode (测试模式) in a real browser: the owner switches to test mode from the header, sees the
striped banner, runs a product's 上线前测试 and sees each step pass, then leaves test mode."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from server.db import db
from server.merchants.models import Merchant, Staff
from tests import factories

BANNER = "此处的卡、订单、核销均为测试数据，与正式数据完全隔离，不产生真实交易"


#: An approved 100-yuan stored-value product, 充300送50, refundable: every step of the test run applies.
PRODUCT = {"name": "测试模式储值卡", "kind": "stored_value", "status": "approved", "named": True,
           "face_value_fen": 10000, "card_no_rule": {"prefix": "6288", "length": 16},
           "validity": {"type": "permanent"},
           "top_up": {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 5000}]},
           "refund_rule": {"allowed": True, "fee_percent": 5}}


def test_owner_switches_to_test_mode_and_runs_a_products_test_run(new_page, sign_in_staff, screenshot, live_server):
    with live_server.app.app_context():
        owner = db.session.scalar(select(Staff).where(Staff.username == "demo_owner"))
        factories.product(db.session, db.session.get(Merchant, owner.merchant_id), **PRODUCT)
        db.session.commit()
    page = new_page("owner")
    sign_in_staff(page, "demo_owner")
    expect(page.locator("[data-test-mode-banner]")).to_have_count(0)
    page.get_by_role("button", name="进入测试模式").click()
    banner = page.get_by_role("region", name="测试模式")
    expect(banner).to_contain_text(BANNER)
    expect(banner.get_by_role("button", name="退出测试模式")).to_be_visible()

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="卡种").click()
    expect(banner).to_be_visible()
    page.get_by_role("link", name=PRODUCT["name"]).click()
    expect(page.locator("[data-test-run-status]")).to_contain_text("上线前测试：")
    page.get_by_role("link", name="上线前测试").click()
    expect(page.get_by_role("heading", name="上线前测试", exact=True)).to_be_visible()
    page.get_by_role("button", name=re.compile("开始测试|重新测试")).click()
    expect(page.get_by_role("status").filter(has_text="上线前测试通过")).to_be_visible()
    steps = page.locator("[data-step]")
    expect(steps).to_have_count(5)
    expect(page.locator("[data-step][data-ok='true']")).to_have_count(5)
    expect(page.locator("[data-test-run-status]")).to_contain_text("已通过")
    expect(banner).to_contain_text(BANNER)
    screenshot(page, "01-test-run-in-test-mode")

    banner.get_by_role("button", name="退出测试模式").click()
    expect(page.locator("[data-test-mode-banner]")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="已退出测试模式")).to_be_visible()
