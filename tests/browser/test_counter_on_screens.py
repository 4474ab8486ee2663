"""The counter on a phone (390 px), and the console at desktop width (1366 px): the sidebar folds
away, nothing scrolls sideways, the card shows before the cashier confirms (scan first, amount after),
the receipt is in view and prints on 58 mm paper; the products table's actions stay on one line."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_issuance_and_counter_journeys import _card_with_code

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def _in_view(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box
    assert 0 <= box["y"] < page.viewport_size["height"], box


def test_a_cashier_scans_first_and_types_the_amount_after_on_a_phone(live_server, new_page, sign_in_staff,
                                                                      screenshot):
    cashier = new_page("cashier")
    cashier.set_viewport_size(PHONE)
    sign_in_staff(cashier, "demo_cashier")
    expect(cashier).to_have_url(re.compile(r"/console/redeem$"))
    expect(cashier.get_by_role("navigation", name="主菜单")).to_be_hidden()
    _no_sideways_scroll(cashier)
    screenshot(cashier, "01-counter-390")

    cashier.get_by_role("button", name="菜单").click()
    expect(cashier.get_by_role("navigation", name="主菜单").get_by_role("link", name="核销记录")).to_be_visible()
    screenshot(cashier, "02-menu-open-390")
    cashier.get_by_role("button", name="菜单").click()
    expect(cashier.get_by_role("navigation", name="主菜单")).to_be_hidden()

    code_input = cashier.get_by_label("会员码")
    code_input.click()
    cashier.keyboard.type(_card_with_code(live_server, principal_fen=20000).numeric_code)
    cashier.keyboard.press("Enter")
    preview = cashier.locator("[data-card-preview]")
    expect(preview.locator("[data-preview-balance]")).to_have_text("¥200.00")
    expect(preview).to_contain_text("储值卡")
    expect(cashier.get_by_label("消费金额")).to_be_focused()  # scan first: the amount comes next
    _no_sideways_scroll(cashier)
    screenshot(cashier, "03-preview-390")

    cashier.keyboard.type("35.5")
    cashier.keyboard.press("Enter")
    receipt = cashier.locator(".receipt")
    expect(receipt.locator("[data-receipt-headline]")).to_have_text("卡内扣款 ¥35.50")
    expect(receipt.locator("[data-receipt-balance]")).to_have_text("¥164.50")
    _in_view(cashier, ".receipt-title")
    _no_sideways_scroll(cashier)
    expect(receipt.get_by_role("button", name="打印小票")).to_be_visible()
    screenshot(cashier, "04-receipt-390")

    cashier.emulate_media(media="print")
    expect(cashier.locator("#redeem-form")).to_be_hidden()
    expect(receipt.get_by_role("button", name="打印小票")).to_be_hidden()
    expect(receipt.locator(".receipt-merchant")).to_be_visible()
    screenshot(cashier, "05-print-58mm")
    cashier.emulate_media(media="screen")
    pdf_width = cashier.evaluate("getComputedStyle(document.querySelector('.receipt')).width")
    assert pdf_width  # the print width is set by the stylesheet (58 mm page, 54 mm receipt)


def test_a_refused_card_shows_why_before_anything_is_deducted(live_server, new_page, sign_in_staff, screenshot):
    cashier = new_page("cashier")
    cashier.set_viewport_size(PHONE)
    sign_in_staff(cashier, "demo_cashier")
    code = _card_with_code(live_server, principal_fen=1000).numeric_code
    cashier.get_by_label("会员码").fill(code)
    cashier.keyboard.press("Enter")
    expect(cashier.locator("[data-preview-balance]")).to_have_text("¥10.00")
    cashier.get_by_label("消费金额").fill("50")
    cashier.keyboard.press("Enter")
    expect(cashier.locator("[data-redeem-error]")).to_have_text("余额不足：卡内余额 ¥10.00，本次应付 ¥50.00")
    _in_view(cashier, "[data-redeem-error]")
    screenshot(cashier, "01-insufficient-390")
    cashier.get_by_label("消费金额").fill("8")  # the code was not used up by the refusal
    cashier.keyboard.press("Enter")
    expect(cashier.locator(".receipt [data-receipt-balance]")).to_have_text("¥2.00")


def test_the_console_at_desktop_width(live_server, new_page, sign_in_staff, screenshot):
    owner = new_page("owner")
    owner.set_viewport_size(DESKTOP)
    sign_in_staff(owner, "demo_owner")
    expect(owner.get_by_role("navigation", name="主菜单")).to_be_visible()
    expect(owner.get_by_role("button", name="菜单")).to_be_hidden()
    owner.goto("/console/products")
    _no_sideways_scroll(owner)
    buttons = owner.locator("td.actions-cell .button")
    assert buttons.count() > 0
    heights = {round(buttons.nth(i).bounding_box()["height"]) for i in range(buttons.count())}
    assert max(heights) < 45, heights  # one line each, never a character per line
    screenshot(owner, "01-products-1366")
    owner.goto("/console/redeem")
    _no_sideways_scroll(owner)
    screenshot(owner, "02-counter-1366")
    owner.goto("/console/reports")
    _no_sideways_scroll(owner)
    expect(owner.locator("[data-figure=card-sale]")).to_be_visible()
    expect(owner.locator("[data-figure=net-redeemed]")).to_be_visible()
    expect(owner.locator('table[data-section="by_channel"] thead')).to_contain_text("核销率")
    screenshot(owner, "02b-reports-1366")
    owner.goto("/console/redemptions")
    expect(owner.locator("thead")).to_contain_text("核销后余额")
    screenshot(owner, "02c-redemptions-1366")
    owner.set_viewport_size({"width": 820, "height": 1180})
    owner.goto("/console/redeem")
    _no_sideways_scroll(owner)
    screenshot(owner, "03-counter-tablet")
    owner.set_viewport_size(PHONE)
    for path in ("/console/", "/console/products", "/console/redemptions", "/console/reports", "/console/batches"):
        owner.goto(path)
        _no_sideways_scroll(owner)
    screenshot(owner, "04-reports-390")
