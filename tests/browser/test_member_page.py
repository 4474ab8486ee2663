"""The member page in a real browser: find a card by its last digits, see its balance and statement,
freeze it with a reason (the counter then refuses it), unfreeze it; on a phone too; report a named card
lost and replace it at the card counter."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from server.cards.models import Card
from server.db import db
from server.extensions import get_redis
from tests.browser.test_issuance_and_counter_journeys import _card_with_code


def test_a_manager_finds_a_member_and_freezes_the_card(live_server, new_page, sign_in_staff, screenshot):
    code = _card_with_code(live_server, principal_fen=26600)
    with live_server.app.app_context():
        from server.cards.dynamic_codes import resolve_code
        card_no = db.session.scalar(select(Card.card_no).where(Card.id == resolve_code(get_redis(),
                                                                                       code.numeric_code).card_id))
    manager = new_page("manager")
    sign_in_staff(manager, "demo_manager")
    manager.get_by_role("navigation", name="主菜单").get_by_role("link", name="会员").click()
    manager.get_by_label("卡号、卡号后 4 位").fill(card_no[-4:])
    manager.get_by_role("button", name="查找").click()
    row = manager.locator(f'tr[data-card-no="{card_no}"]')
    expect(row).to_contain_text("¥266.00")
    screenshot(manager, "01-search")
    row.get_by_role("link").click()
    expect(manager.locator("[data-figure=balance]")).to_have_text("¥266.00")
    expect(manager.locator('table[data-section="statement"]')).to_contain_text("开卡")
    manager.get_by_role("button", name="冻结").click()  # no reason: refused in words
    expect(manager.locator("[data-error-summary]")).to_contain_text("请填写原因")
    manager.get_by_label("冻结原因（必填，记入审计日志）").fill("顾客手机丢失，来电要求冻结")
    manager.get_by_role("button", name="冻结").click()
    expect(manager.get_by_role("status")).to_have_text("卡已冻结，解冻前不能核销")
    expect(manager.locator("[data-card-status]")).to_have_text("已冻结")
    expect(manager.locator('table[data-section="history"]')).to_contain_text("顾客手机丢失，来电要求冻结")
    screenshot(manager, "02-frozen")

    cashier = new_page("cashier")
    sign_in_staff(cashier, "demo_cashier")
    cashier.get_by_label("会员码").fill(code.numeric_code)
    cashier.keyboard.press("Enter")
    expect(cashier.locator("[data-preview-problem]")).to_be_visible()  # refused before anything is deducted
    screenshot(cashier, "03-counter-sees-frozen")

    manager.set_viewport_size({"width": 390, "height": 844})
    manager.get_by_label("解冻原因（必填，记入审计日志）").fill("顾客找回手机")
    manager.get_by_role("button", name="解冻").click()
    expect(manager.locator("[data-card-status]")).to_have_text("正常")
    assert manager.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(manager, "04-unfrozen-390")


def test_points_are_exchanged_for_a_reward_at_the_counter(live_server, new_page, sign_in_staff, screenshot):
    import uuid

    from server.demo import MERCHANT_LICENSE
    from server.merchants.models import Merchant
    from tests import factories

    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    owner.get_by_role("navigation", name="主菜单").get_by_role("link", name="积分兑换").click()
    name = f"拿铁一杯 {uuid.uuid4().hex[:4]}"
    owner.get_by_label("名称").fill(name)
    owner.get_by_label("类型").select_option(label="商品")
    owner.get_by_label("所需积分").fill("80")
    owner.get_by_label("库存（件）").fill("20")
    owner.get_by_role("button", name="上架").click()
    expect(owner.get_by_role("status")).to_have_text(f"兑换商品「{name}」已上架")
    screenshot(owner, "01-catalogue")

    with live_server.app.app_context():
        merchant = db.session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
        product = factories.product(db.session, merchant, kind="points", name=f"积分卡 {uuid.uuid4().hex[:4]}",
                                    points_rule={"earn_per_yuan": 1, "points_per_yuan_off": 100})
        card_no = factories.card(db.session, product, points=200).card_no
        db.session.commit()
    cashier = new_page("cashier")
    cashier.set_viewport_size({"width": 390, "height": 844})
    sign_in_staff(cashier, "demo_cashier")
    cashier.goto(f"/console/cards/{card_no}")
    cashier.get_by_label("兑换商品（卡内 200 积分）").select_option(label=f"{name} · 80 积分（剩 20）")
    cashier.once("dialog", lambda dialog: dialog.accept())
    cashier.get_by_role("button", name="兑换").click()
    expect(cashier.get_by_role("status")).to_have_text(f"已兑换「{name}」，扣除 80 积分，剩余 120 积分")
    expect(cashier.locator("[data-figure=points]")).to_have_text("120")
    expect(cashier.locator('table[data-section="statement"]')).to_contain_text("积分兑换")
    assert cashier.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(cashier, "02-exchanged-390")


def test_a_lost_card_is_reported_on_its_page_and_replaced_at_the_card_counter(live_server, new_page, sign_in_staff,
                                                                               screenshot):
    import uuid

    from server.demo import MERCHANT_LICENSE
    from server.merchants.models import Merchant
    from tests import factories

    with live_server.app.app_context():
        merchant = db.session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
        product = factories.product(db.session, merchant, name=f"记名储值卡 {uuid.uuid4().hex[:4]}", named=True)
        card_no = factories.card(db.session, product, principal_fen=8800).card_no
        db.session.commit()
    manager = new_page("manager")
    sign_in_staff(manager, "demo_manager")
    manager.goto(f"/console/cards/{card_no}")
    manager.get_by_label("挂失原因（必填，记入审计日志）").fill("顾客钱包遗失")
    manager.get_by_role("button", name="挂失").click()
    expect(manager.get_by_role("status")).to_have_text("已挂失，此卡暂停使用；可为持卡人补办新卡")
    expect(manager.locator("[data-card-status]")).to_have_text("已冻结")
    expect(manager.locator('table[data-section="history"]')).to_contain_text("顾客钱包遗失")
    screenshot(manager, "01-reported-lost")

    manager.get_by_role("link", name="补办新卡").click()
    expect(manager.get_by_label("原卡号")).to_have_value(card_no)
    manager.get_by_role("button", name="补办新卡").click()
    expect(manager.locator("[data-card-result]")).to_contain_text("补办完成")
    expect(manager.locator("[data-card-result]")).to_contain_text("¥88.00")
    expect(manager.get_by_label("原卡号")).to_have_value("")
    screenshot(manager, "02-replaced")
    with live_server.app.app_context():
        assert db.session.scalar(select(Card.status).where(Card.card_no == card_no)) == "replaced"
