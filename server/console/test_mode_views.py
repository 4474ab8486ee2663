"""The console's test mode (测试模式, API.md "Test mode"): the switch in the header, the test-mode page
where staff act for the merchant's test consumer — buy a card from a batch, top it up, show its
payment code for the counter, refund it — wiping the test data, and a product's test run (上线前测试).

The switch only sets a flag in the Flask session; the staff guard (auth.py) puts every request's
database session in test mode while it is on, so every other page shows the test books unchanged.
Everything here is over server/testmode/services.py, as the API's test-mode endpoints are.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, flash, g, make_response, redirect, render_template, request, session
from marshmallow import fields, validate

from server.cards.dynamic_codes import DynamicCode
from server.console import pages
from server.console.auth import STAFF, TEST_MODE_KEY, console_login_required, safe_next
from server.console.filters import money
from server.console.forms import load_form
from server.console.merchant_views import blueprint
from server.console.pages import see_other
from server.db import db
from server.errors import Conflict
from server.extensions import get_redis
from server.issuance import services as issuance
from server.issuance.models import BatchStatus, IssueMethod
from server.merchants.permissions import Action
from server.modes import Mode, use_mode
from server.products import services as products
from server.products.models import CardProduct, ProductStatus
from server.schemas import Schema
from server.testmode import services as testmode

#: Batches a test card can come from: bought (paid by the test payment provider) or claimed free.
_BUYABLE = (IssueMethod.PURCHASE, IssueMethod.CLAIM)
#: What wiping removed, by table, in the page's words (the daily summaries, derived from the journals, go unsaid).
WIPED_LABELS = {"cards": "测试卡", "payment_orders": "订单", "redemptions": "核销记录", "journals": "账务流水",
                "ledger_entries": "分录", "refunds": "退款", "refund_allocations": "退款分摊", "transfers": "转赠",
                "open_redemptions": "开放平台核销", "open_top_ups": "开放平台充值", "open_member_cards": "会员绑定",
                "reward_exchanges": "积分兑换",
                "batches": "测试批次", "webhook_events": "回调事件"}


class TestBuyForm(Schema):
    batch_id = fields.Integer(required=True)


class TestTopUpForm(Schema):
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1, error="充值金额须大于 0"))


class TestRefundForm(Schema):
    reason = fields.String(load_default="测试退款", validate=validate.Length(max=200))


def _require_on() -> None:
    if not g.get("test_mode"):
        raise Conflict("请先切换到测试模式")


# --- the switch ----------------------------------------------------------------------------------


@blueprint.post("/test-mode/switch")
@console_login_required(Action.USE_TEST_MODE)
def switch_test_mode() -> Response:
    """Enter (``on=1``) or leave test mode, then back to the page the switch was on."""
    on = request.form.get("on") == "1"
    session[TEST_MODE_KEY] = on
    flash("已进入测试模式：此后的购卡、充值、核销均为测试数据" if on else "已退出测试模式，当前显示正式数据")
    return redirect(safe_next(STAFF, request.form.get("next")), code=303)


# --- the test-mode page --------------------------------------------------------------------------


def _page(code: DynamicCode | None = None, code_card_id: int | None = None) -> str:
    actor = g.principal
    if not g.get("test_mode"):
        return render_template("console/test_mode.html", batches=[], cards=[], products={}, code=None)
    batches = [batch for batch in db.session.scalars(issuance.list_batches(actor.merchant_id,
                                                                          status=BatchStatus.ACTIVE))
               if batch.issue_method in _BUYABLE]
    product_ids = {batch.product_id for batch in batches}
    cards = testmode.test_cards(db.session, actor.merchant_id)
    product_ids |= {card.product_id for card in cards}
    names = {product.id: product for product in db.session.scalars(
        products.list_products(db.session, actor.merchant_id).where(CardProduct.id.in_(product_ids)))}
    return render_template("console/test_mode.html", batches=batches, cards=cards, products=names, code=code,
                           code_card_id=code_card_id)


@blueprint.get("/test-mode")
@console_login_required(Action.USE_TEST_MODE)
def test_mode_page() -> str:
    return _page()


@blueprint.post("/test-mode/buy")
@pages.shows_errors_on("console.test_mode_page")
@console_login_required(Action.USE_TEST_MODE)
def test_buy() -> Response:
    _require_on()
    batch_id = load_form(TestBuyForm(), request.form, integers=("batch_id",))["batch_id"]
    card = testmode.buy(db.session, current_app.config, g.principal, batch_id)
    flash(f"测试购卡成功：卡号 {card.card_no}，余额 {money(card.balance_fen)}，次数 {card.uses_remaining}")
    return see_other(".test_mode_page")


@blueprint.post("/test-mode/cards/<int:card_id>/top-up")
@pages.shows_errors_on("console.test_mode_page")
@console_login_required(Action.USE_TEST_MODE)
def test_top_up(card_id: int) -> Response:
    _require_on()
    amount = load_form(TestTopUpForm(), request.form, yuan=("amount_fen",))["amount_fen"]
    order = testmode.top_up(db.session, current_app.config, g.principal, card_id, amount)
    card = testmode.test_card(db.session, g.principal.merchant_id, card_id)
    flash(f"测试充值成功：充值 {money(order.amount_fen)}，赠送 {money(order.bonus_fen)}，"
          f"卡内余额 {money(card.balance_fen)}")
    return see_other(".test_mode_page")


@blueprint.post("/test-mode/cards/<int:card_id>/code")
@pages.shows_errors_on("console.test_mode_page")
@console_login_required(Action.USE_TEST_MODE)
def test_show_code(card_id: int) -> Response:
    """The card's dynamic code in this one response (it expires; a redirect would lose it)."""
    _require_on()
    code = testmode.show_code(db.session, get_redis(), g.principal, card_id)
    response = make_response(_page(code=code, code_card_id=card_id))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/test-mode/cards/<int:card_id>/refund")
@pages.shows_errors_on("console.test_mode_page")
@console_login_required(Action.USE_TEST_MODE)
def test_refund(card_id: int) -> Response:
    _require_on()
    reason = load_form(TestRefundForm(), request.form)["reason"] or "测试退款"
    record = testmode.refund(db.session, g.principal, card_id, reason)
    flash(f"测试退款成功：退款 {money(record.refund_fen)}（手续费 {money(record.fee_fen)}）")
    return see_other(".test_mode_page")


@blueprint.post("/test-mode/wipe")
@pages.shows_errors_on("console.test_mode_page")
@console_login_required(Action.WIPE_TEST_DATA)
def wipe_test_data() -> Response:
    """Delete the test books; the message says what went."""
    _require_on()
    removed = testmode.wipe(db.session, g.principal.merchant_id)
    flash(wiped_message(removed))
    return see_other(".test_mode_page")


def wiped_message(removed: dict[str, int]) -> str:
    counts = "、".join(f"{label} {removed[table]} 条" for table, label in WIPED_LABELS.items() if removed.get(table))
    return f"测试数据已清除：{counts}；正式数据未受影响" if counts else "没有需要清除的测试数据"


# --- a product's test run (上线前测试) --------------------------------------------------------------


@blueprint.get("/products/<int:product_id>/test-run")
@console_login_required(Action.TEST_PRODUCTS)
def product_test_run(product_id: int) -> str:
    """The product's last test run (product.last_test_run) and when it last passed."""
    product = products.get_product(db.session, g.principal.merchant_id, product_id)
    run = product.last_test_run
    return render_template("console/test_run.html", product=product, run=run, step_names=testmode.STEP_NAMES,
                           ran_at=datetime.fromisoformat(run["at"]) if run and run.get("at") else None,
                           testable=product.status in (ProductStatus.APPROVED, ProductStatus.PUBLISHED))


@blueprint.post("/products/<int:product_id>/test-run")
@pages.shows_errors_on("console.product_test_run")
@console_login_required(Action.TEST_PRODUCTS)
def run_product_test(product_id: int) -> Response:
    """Run the test in test mode (whatever the switch says); its page shows each step."""
    use_mode(db.session, Mode.TEST)
    result = testmode.run_test(db.session, get_redis(), current_app.config, g.principal, product_id)
    flash("上线前测试通过，可以发布" if result["passed"] else "上线前测试未通过，请查看未通过的步骤")
    return see_other(".product_test_run", product_id=product_id)
