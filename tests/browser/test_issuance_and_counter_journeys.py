"""Journeys through issuance and the counter in a real browser: a batch created by the owner and
approved by operations and finance (two more logins); a cashier redeeming by typing a code and
pressing Enter, as a USB scanner does; the dashboard and the report changing with it; a reversal;
a QR code read through the camera."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select

from server.auth import Principal, PrincipalKind
from server.cards.dynamic_codes import DynamicCode, issue_code
from server.console.filters import money
from server.crypto import encrypt
from server.db import db
from server.demo import MERCHANT_LICENSE
from server.extensions import get_redis
from server.merchants.models import Merchant, Staff
from server.products import services as products
from server.products.models import ProductStatus
from tests import factories


def _published_product(live_server, name: str) -> None:
    """A prepaid product of the demo merchant, made from a template and published (as the demo does)."""
    with live_server.app.app_context():
        owner = db.session.scalar(select(Staff).where(Staff.username == "demo_owner"))
        actor = Principal(PrincipalKind.STAFF, owner.id, merchant_id=owner.merchant_id, role=owner.role)
        product = products.create_product(db.session, actor, {"name": name, "face_value_fen": 10000},
                                          "bakery_stored_value")
        product.status = ProductStatus.PUBLISHED
        db.session.commit()


def _approve(page: Page) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="审批通过").click()


def test_owner_creates_a_batch_that_operations_and_finance_approve(live_server, new_page, sign_in_staff, screenshot):
    suffix = uuid.uuid4().hex[:6]
    product_name = f"百元储值卡 {suffix}"
    _published_product(live_server, product_name)

    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    owner.get_by_role("navigation", name="主菜单").get_by_role("link", name="渠道").click()
    owner.get_by_label("渠道名称").fill(f"地推-{suffix}")
    owner.get_by_label("类型").select_option(label="线下地推")
    owner.get_by_label("每张卡获客成本（元，选填）").fill("2.5")
    owner.get_by_role("button", name="创建渠道").click()
    expect(owner.get_by_role("status")).to_have_text(f"渠道「地推-{suffix}」已创建")
    screenshot(owner, "01-channel-created")

    owner.get_by_role("navigation", name="主菜单").get_by_role("link", name="发行批次").click()
    owner.get_by_role("link", name="新建批次").click()
    owner.get_by_label("卡种（已发布）").select_option(label=f"{product_name}（储值卡，面值 ¥100.00）")
    owner.get_by_label("渠道").select_option(label=f"地推-{suffix}（线下地推）")
    batch_name = f"开业储值卡 {suffix}"
    owner.get_by_label("批次名称").fill(batch_name)
    owner.get_by_label("发行方式").select_option(label="购买")
    owner.get_by_label("发行数量（张）").fill("500")
    owner.get_by_label("售价（元；免费领取填 0）").fill("100")
    screenshot(owner, "02-batch-form")
    owner.get_by_role("button", name="创建批次").click()

    expect(owner.get_by_role("heading", name=batch_name)).to_be_visible()
    expect(owner.get_by_role("status")).to_have_text("发行批次已创建，须经运营与财务审批后开始发行")
    expect(owner.locator(".batch-status .badge")).to_have_text("待审批")
    expect(owner.locator('[data-code="BATCH_REAL_NAME_REQUIRED"]')).to_contain_text("实名")
    expect(owner.locator('[data-code="BATCH_BANK_TRANSFER_REQUIRED"]')).to_contain_text("银行转账")
    screenshot(owner, "03-pending-approval-with-warnings")
    batch_path = owner.url.removeprefix(live_server.url)

    operations = new_page("operations")
    sign_in_staff(operations, "demo_operations")
    operations.goto(batch_path)
    _approve(operations)
    expect(operations.get_by_role("status")).to_have_text("已记录审批，等待另一角色审批")
    expect(operations.locator('[data-approval="operations"]')).to_contain_text("✓ demo_operations")
    expect(operations.locator('[data-approval="finance"]')).to_contain_text("待审批")
    expect(operations.locator(".batch-status .badge")).to_have_text("待审批")
    screenshot(operations, "04-approved-by-operations")

    finance = new_page("finance")
    sign_in_staff(finance, "demo_finance")
    finance.goto("/console/batches?status=pending_approval")
    finance.get_by_role("link", name=batch_name).click()
    _approve(finance)
    expect(finance.get_by_role("status")).to_have_text("审批完成，批次已开始发行")
    expect(finance.locator('[data-approval="finance"]')).to_contain_text("✓ demo_finance")
    expect(finance.locator(".batch-status .badge")).to_have_text("发行中")
    expect(finance.get_by_role("button", name="审批通过")).to_have_count(0)
    screenshot(finance, "05-approved-by-finance-and-active")


def _card_with_code(live_server, principal_fen: int) -> DynamicCode:
    """A stored-value card of the demo merchant and the code its holder's phone would show."""
    app = live_server.app
    with app.app_context():
        merchant = db.session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
        product = factories.product(db.session, merchant, name=f"会员储值卡 {uuid.uuid4().hex[:6]}")
        card = factories.card(db.session, product, principal_fen=principal_fen,
                              secret_encrypted=encrypt(app.config, "482913"))
        db.session.commit()
        return issue_code(get_redis(), card.id)


def _fen(text: str) -> int:
    """¥1,234.56 → 123456."""
    sign = -1 if text.startswith("-") else 1
    return sign * int(re.sub(r"[^0-9]", "", text))


def test_a_cashier_redeems_by_typing_a_code_and_enter_and_the_figures_change(live_server, new_page, sign_in_staff,
                                                                             screenshot):
    owner = new_page("owner")
    sign_in_staff(owner, "demo_owner")
    today_before = _fen(owner.locator("[data-figure=today-redeemed]").inner_text())
    screenshot(owner, "01-dashboard-before")
    owner.goto("/console/reports")
    report_before = _fen(owner.locator("[data-figure=redeemed]").inner_text())

    cashier = new_page("cashier")
    sign_in_staff(cashier, "demo_cashier")
    cashier.get_by_role("navigation", name="主菜单").get_by_role("link", name="收银核销").click()
    code_input = cashier.get_by_label("会员码")
    expect(code_input).to_be_focused()
    expect(cashier.locator("[data-store]")).to_have_text("人民广场店")

    cashier.keyboard.type("900000000000000000")  # a code that expired: the scanner types, then Enter
    cashier.keyboard.press("Enter")
    expect(cashier.locator("[data-redeem-error]")).to_have_text("会员码无效或已过期，请顾客刷新会员码后重新扫码")
    expect(code_input).to_have_value("")
    expect(code_input).to_be_focused()
    screenshot(cashier, "02-expired-code-refused")

    cashier.get_by_label("消费金额").fill("88.50")
    cashier.keyboard.press("Enter")  # the code is still empty: Enter goes back to it
    expect(code_input).to_be_focused()
    cashier.keyboard.type(_card_with_code(live_server, principal_fen=50000).numeric_code)
    cashier.keyboard.press("Enter")  # the scan shows the card first; nothing is deducted yet
    preview = cashier.locator("[data-card-preview]")
    expect(preview.locator("[data-preview-balance]")).to_have_text("¥500.00")
    expect(cashier.get_by_role("button", name="确认核销（回车）")).to_be_focused()
    screenshot(cashier, "03-card-preview")
    cashier.keyboard.press("Enter")  # amount typed before the scan: the next Enter confirms
    receipt = cashier.locator(".receipt")
    expect(receipt.locator("[data-receipt-headline]")).to_have_text("卡内扣款 ¥88.50")
    expect(receipt.locator("[data-receipt-balance]")).to_have_text("¥411.50")
    expect(cashier.locator("[data-redeem-error]")).to_be_hidden()
    expect(code_input).to_have_value("")
    expect(code_input).to_be_focused()
    screenshot(cashier, "04-receipt")
    redemption_id = receipt.get_attribute("data-redemption-id")

    owner.goto("/console/")
    expect(owner.locator("[data-figure=today-redeemed]")).to_have_text(money(today_before + 8850))
    expect(owner.locator("svg.chart")).to_be_visible()
    screenshot(owner, "05-dashboard-after")
    owner.get_by_role("link", name="查看报表").click()
    expect(owner.locator("[data-figure=redeemed]")).to_have_text(money(report_before + 8850))
    expect(owner.locator('table[data-section="by_store"]')).to_contain_text("人民广场店")
    screenshot(owner, "06-report-after")

    owner.get_by_role("navigation", name="主菜单").get_by_role("link", name="核销记录").click()
    row = owner.locator(f'tr[data-redemption-id="{redemption_id}"]')
    expect(row).to_contain_text("¥88.50")
    row.get_by_role("button", name="冲正").click()
    dialog = owner.get_by_role("dialog", name="冲正核销")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="确认冲正").click()  # no reason: the dialog asks for one
    expect(dialog.locator("[data-error-for=reason]")).to_have_text("请填写冲正原因")
    dialog.get_by_label("冲正原因（必填，记入审计日志）").fill("顾客要求撤销")
    screenshot(owner, "07-reversal-dialog")
    dialog.get_by_role("button", name="确认冲正").click()
    expect(owner.get_by_role("status")).to_have_text("已冲正，核销的金额、次数和积分已退回卡内")
    row = owner.locator(f'tr[data-redemption-id="{redemption_id}"]')
    expect(row.locator(".badge")).to_have_text("已冲正")
    expect(row).to_contain_text("顾客要求撤销")
    screenshot(owner, "08-reversed")


#: Linux Chromium has no BarcodeDetector (ChromeOS, Android and macOS do): the page gets this stand-in,
#: which reads whatever the test puts in ``window.qrInFrontOfCamera`` once the camera is running.
#: The camera streams the page opens are kept in ``window.cameraStreams`` to see that they end.
BARCODE_DETECTOR = """
window.qrInFrontOfCamera = null;
window.cameraStreams = [];
const openCamera = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await openCamera(constraints);
  window.cameraStreams.push(stream);
  return stream;
};
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { this.formats = options.formats; }
  async detect(source) {
    const filming = source instanceof HTMLVideoElement && source.srcObject instanceof MediaStream
      && source.srcObject.getVideoTracks().some((track) => track.readyState === "live");
    if (!filming || !this.formats.includes("qr_code") || !window.qrInFrontOfCamera) return [];
    const rawValue = window.qrInFrontOfCamera;
    window.qrInFrontOfCamera = null;
    return [{ format: "qr_code", rawValue }];
  }
};
"""


def test_a_cashier_redeems_a_qr_code_read_through_the_camera(live_server, new_page, sign_in_staff, screenshot):
    cashier = new_page("cashier")
    cashier.context.grant_permissions(["camera"])  # Chromium films its fake camera (see CHROMIUM_ARGS)
    cashier.add_init_script(BARCODE_DETECTOR)
    sign_in_staff(cashier, "demo_cashier")
    cashier.goto("/console/redeem")
    cashier.get_by_label("消费金额").fill("12.30")

    cashier.get_by_role("button", name="用摄像头扫码").click()
    preview = cashier.locator("[data-camera-preview]")
    expect(preview).to_be_visible()
    expect(cashier.get_by_role("button", name="关闭摄像头")).to_be_visible()
    screenshot(cashier, "01-camera-open")

    cashier.evaluate("payload => { window.qrInFrontOfCamera = payload; }",
                     _card_with_code(live_server, principal_fen=10000).qr_payload)
    expect(cashier.locator("[data-preview-balance]")).to_have_text("¥100.00")
    expect(cashier.get_by_role("button", name="确认核销（回车）")).to_be_focused()
    cashier.keyboard.press("Enter")
    receipt = cashier.locator(".receipt")
    expect(receipt.locator("[data-receipt-headline]")).to_have_text("卡内扣款 ¥12.30")
    expect(receipt.locator("[data-receipt-balance]")).to_have_text("¥87.70")
    expect(preview).to_be_hidden()  # the camera is switched off once a code is read
    expect(cashier.get_by_role("button", name="用摄像头扫码")).to_be_visible()
    assert cashier.evaluate("""cameraStreams.length === 1 && cameraStreams[0].getTracks().every(
        (track) => track.readyState === "ended")""")  # the camera light goes off
    screenshot(cashier, "02-receipt")
