"""A printed card at the counter in a real browser: the cashier scans its barcode (the scanner types the
number and Enter), takes the price and activates it; then redeems it by scanning the number, Enter,
typing the secret from under the scratch-off, Enter."""

from __future__ import annotations

import uuid

from flask import current_app
from playwright.sync_api import expect
from sqlalchemy import select

from server.cards.models import Card
from server.cards.physical import create_printed_cards
from server.crypto import decrypt
from server.db import db
from server.demo import MERCHANT_LICENSE
from server.issuance.models import Batch, Channel
from server.merchants.models import Merchant
from tests import factories


def _printed_card(live_server) -> tuple[str, str]:
    """An inactive printed card of a 100-yuan physical product of the demo merchant, sold for 80."""
    with live_server.app.app_context():
        merchant = db.session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
        product = factories.product(db.session, merchant, name=f"实体储值卡 {uuid.uuid4().hex[:6]}", form="physical",
                                    face_value_fen=10000, card_no_rule={"prefix": "6201", "length": 16})
        channel = Channel(merchant_id=merchant.id, name="门店售卡", kind="offline")
        db.session.add(channel)
        db.session.flush()
        batch = Batch(merchant_id=merchant.id, product_id=product.id, channel_id=channel.id, name="实体卡",
                      quantity=1, price_fen=8000, issue_method="physical", status="active")
        db.session.add(batch)
        db.session.flush()
        create_printed_cards(db.session, current_app.config, batch, product)
        card = db.session.scalar(select(Card).where(Card.batch_id == batch.id))
        db.session.commit()
        return card.card_no, decrypt(current_app.config, card.secret_encrypted)


def test_a_cashier_sells_a_printed_card_and_redeems_it_with_scanner_and_secret(live_server, new_page, sign_in_staff,
                                                                               screenshot):
    card_no, secret = _printed_card(live_server)
    cashier = new_page("cashier")
    sign_in_staff(cashier, "demo_cashier")
    cashier.get_by_role("navigation", name="主菜单").get_by_role("link", name="实体卡").click()
    number = cashier.get_by_label("卡号").first
    expect(number).to_be_focused()
    cashier.keyboard.type(card_no)  # the scanner types the barcode, then Enter
    cashier.keyboard.press("Enter")
    expect(cashier.get_by_label("实收金额")).to_be_focused()
    cashier.keyboard.type("80")
    cashier.keyboard.press("Enter")
    expect(cashier.locator("[data-card-result]")).to_contain_text("已激活，实收 ¥80.00，卡内余额 ¥100.00")
    screenshot(cashier, "01-activated")

    cashier.get_by_role("navigation", name="主菜单").get_by_role("link", name="收银核销").click()
    expect(cashier.get_by_label("会员码")).to_be_focused()
    cashier.get_by_label("消费金额").fill("12.50")
    cashier.get_by_label("会员码").focus()
    cashier.keyboard.type(card_no)
    cashier.keyboard.press("Enter")
    expect(cashier.get_by_label("卡密（实体卡）")).to_be_focused()
    cashier.keyboard.type(secret)
    cashier.keyboard.press("Enter")  # number and secret show the card first; nothing is deducted yet
    expect(cashier.locator("[data-card-preview]").locator("[data-preview-balance]")).to_have_text("¥100.00")
    expect(cashier.get_by_role("button", name="确认核销（回车）")).to_be_focused()
    cashier.keyboard.press("Enter")
    receipt = cashier.locator(".receipt")
    expect(receipt.locator("[data-receipt-headline]")).to_have_text("卡内扣款 ¥12.50")
    expect(receipt.locator("[data-receipt-balance]")).to_have_text("¥87.50")
    expect(cashier.get_by_label("卡密（实体卡）")).to_have_value("")
    screenshot(cashier, "02-redeemed-with-secret")
