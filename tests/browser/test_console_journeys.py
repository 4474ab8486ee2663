"""Journeys through the console in a real browser: a product from a template with live validation,
platform approval, publishing, and a cashier who sees no management menus."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select

from server.auth import Principal, PrincipalKind
from server.db import db
from server.demo import ADMIN
from server.merchants.models import Staff
from server.products import services as products


def _messages(page: Page, path: str):
    """The findings shown beside the field whose product path is ``path``."""
    return page.locator(f'[data-messages-for="{path}"] .finding')


def test_owner_creates_a_product_from_a_template_with_live_validation_and_submits_it(
        new_page, sign_in_staff, screenshot):
    page = new_page("owner")
    sign_in_staff(page, "demo_owner")
    expect(page.get_by_role("heading", name="概览")).to_be_visible()
    screenshot(page, "01-dashboard")

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="模板库").click()
    cards = page.locator(".template-card")
    expect(cards).to_have_count(12)
    face = page.locator('[data-template="bakery_stored_value"] img')
    expect(face).to_have_js_property("complete", True)
    assert face.evaluate("image => image.naturalWidth") > 0, "the template's card face did not load"
    screenshot(page, "02-template-gallery")

    page.locator('[data-template="bakery_stored_value"]').get_by_role("link", name="使用此模板").click()
    expect(page.get_by_role("heading", name=re.compile("新建卡种"))).to_be_visible()
    expect(page.locator("[data-findings-count]")).to_have_text("校验通过，没有发现问题。")
    name = f"本店烘焙储值卡 {uuid.uuid4().hex[:6]}"
    page.get_by_label("卡种名称").fill(name)

    terms = page.get_by_label("使用须知（展示给购卡人）")
    template_terms = terms.input_value()
    terms.fill("本卡概不退款")
    bonus = page.locator('[name="top_up.tiers[0].bonus_fen"]')
    bonus.fill("100")
    terms_error = _messages(page, "terms")
    expect(terms_error).to_have_count(1)
    expect(terms_error).to_have_class(re.compile("finding-error"))
    expect(terms_error).to_contain_text("概不退款")
    bonus_warning = _messages(page, "top_up.tiers[0].bonus_fen")
    expect(bonus_warning).to_have_class(re.compile("finding-warning"))
    expect(bonus_warning).to_contain_text("30%")
    screenshot(page, "03-live-validation-error-and-warning")

    terms.fill(template_terms)
    bonus.fill("20")
    expect(terms_error).to_have_count(0)
    expect(bonus_warning).to_have_count(0)
    expect(page.locator("[data-findings-count]")).to_have_text("校验通过，没有发现问题。")
    screenshot(page, "04-fixed")

    page.get_by_role("button", name="保存并提交审核").click()
    expect(page.get_by_role("status")).to_have_text("已提交平台审核")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator(".product-header .badge")).to_have_text("待审核")
    screenshot(page, "05-submitted")


def _pending_product(live_server) -> tuple[int, str]:
    """A product the demo owner made from a template and sent for review (not through the browser)."""
    name = f"餐厅储值卡 {uuid.uuid4().hex[:6]}"
    with live_server.app.app_context():
        owner = db.session.scalar(select(Staff).where(Staff.username == "demo_owner"))
        actor = Principal(PrincipalKind.STAFF, owner.id, merchant_id=owner.merchant_id, role=owner.role)
        product = products.create_product(db.session, actor, {"name": name}, "restaurant_stored_value")
        products.submit_product(db.session, actor, product.id)
        db.session.commit()
        return product.id, name


def test_platform_approves_a_product_and_the_owner_publishes_it(live_server, new_page, sign_in, sign_in_staff,
                                                               screenshot):
    product_id, name = _pending_product(live_server)

    admin = new_page("admin")
    sign_in(admin, "platform", *ADMIN)
    expect(admin.get_by_role("heading", name="商户审核")).to_be_visible()
    admin.get_by_role("navigation", name="主菜单").get_by_role("link", name="卡种审核").click()
    item = admin.locator(f'[data-product-id="{product_id}"]')
    expect(item.get_by_role("heading", name=name)).to_be_visible()
    expect(item.locator(".findings-ok")).to_be_visible()
    screenshot(admin, "01-pending-products")
    item.get_by_label("审核意见（驳回时必填，商户可见）").fill("资料齐全，准予发布")
    item.get_by_role("button", name="通过").click()
    expect(admin.get_by_role("status")).to_have_text(f"卡种「{name}」已通过审核")
    expect(admin.locator(f'[data-product-id="{product_id}"]')).to_have_count(0)
    screenshot(admin, "02-approved")

    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    owner.goto("/console/products")
    row = owner.locator(f'tr[data-product-id="{product_id}"]')
    expect(row.locator(".badge")).to_have_text("审核通过")
    screenshot(owner, "03-products-list")
    row.get_by_role("link", name=name).click()
    expect(owner.locator("[data-review-comment]")).to_contain_text("资料齐全，准予发布")
    owner.get_by_role("button", name="发布").click()
    expect(owner.get_by_role("status")).to_have_text("卡种已发布")
    expect(owner.locator(".product-header .badge")).to_have_text("已发布")
    screenshot(owner, "04-published")


def test_a_cashier_sees_no_management_menus_and_is_refused_management_pages(live_server, new_page, sign_in_staff,
                                                                              screenshot):
    page = new_page("cashier")
    sign_in_staff(page, "demo_cashier")
    expect(page).to_have_url(re.compile(r"/console/redeem$"))  # cashiers land on the counter
    menu = page.get_by_role("navigation", name="主菜单").get_by_role("link")
    expect(menu).to_have_text(["概览", "收银核销", "实体卡", "核销记录", "会员", "门店", "测试模式"])
    expect(page.locator("[data-figure=staff]")).to_have_count(0)
    screenshot(page, "01-cashier-lands-on-the-counter")

    for path in ("/console/staff", "/console/templates", "/console/products", "/console/batches",
                 "/console/reports", "/console/audit"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("alert")).to_have_text("当前角色无权访问此页面")
    screenshot(page, "02-management-page-refused")

    page.goto("/console/stores")
    expect(page.get_by_role("heading", name="新建门店")).to_have_count(0)
    expect(page.locator("tbody tr")).to_have_count(1)
    screenshot(page, "03-own-store-only")
