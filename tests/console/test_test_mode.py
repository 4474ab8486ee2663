"""The console's test mode (测试模式): the switch and its banner, staff acting for the test consumer
(buy, top up, show a code, redeem it at the counter, refund), the walls between test and live on the
existing pages, a product's test run (上线前测试) gating publishing, and wiping the test data."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db
from server.modes import ALL_MODES
from server.products.models import CardProduct
from tests import issuance_support as support
from tests.console.helpers import alerts, csrf_token, post_form

BANNER = "此处的卡、订单、核销均为测试数据，与正式数据完全隔离，不产生真实交易"
#: 100 yuan face value, 充300送50, refundable with a 5 % fee: every step of a test run applies.
PRODUCT = {"status": "approved", "named": True, "top_up": {
    "enabled": True, "tiers": [{"amount_fen": 10000, "bonus_fen": 0}, {"amount_fen": 30000, "bonus_fen": 5000}]},
    "refund_rule": {"allowed": True, "fee_percent": 5}}


def _switch(client, on: bool, next_page: str = "/console/test-mode"):
    response = post_form(client, "/console/test-mode/switch", {"on": "1" if on else "0", "next": next_page})
    assert response.status_code == 303 and response.headers["Location"].endswith(next_page)
    return response


def _cards(app, merchant_id: int, mode: str) -> list[Card]:
    with app.app_context():
        rows = db.session.scalars(select(Card).where(Card.merchant_id == merchant_id, Card.mode == mode)
                                  .order_by(Card.id).execution_options(**{ALL_MODES: True})).all()
        db.session.expunge_all()
        return list(rows)


def _count(app, model, merchant_id: int, mode: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(
            model.merchant_id == merchant_id, model.mode == mode).execution_options(**{ALL_MODES: True}))


@pytest.fixture
def on_sale(app, shop):
    """A published 100-yuan stored-value product (充300送50, refundable) and a purchase batch of it."""
    product_id = support.product(app, shop.merchant_id, **{**PRODUCT, "status": "published"})
    return support.batch(app, shop.merchant_id, product_id, issue_method="purchase", price_fen=10000,
                         name="测试用批次")


def test_the_switch_shows_the_banner_on_every_page_and_leaves_it(staff_client):
    owner = staff_client("owner")
    live = owner.get("/console/").get_data(as_text=True)
    assert BANNER not in live and "进入测试模式" in live
    _switch(owner, True, "/console/products")
    for path in ("/console/", "/console/products", "/console/cards", "/console/redemptions", "/console/test-mode"):
        page = owner.get(path).get_data(as_text=True)
        assert BANNER in page and "data-test-mode-banner" in page and "退出测试模式" in page, path
    _switch(owner, False, "/console/")
    assert BANNER not in owner.get("/console/").get_data(as_text=True)


def test_a_role_without_test_mode_has_no_switch_and_is_refused(staff_client):
    finance = staff_client("finance")
    assert "进入测试模式" not in finance.get("/console/").get_data(as_text=True)
    refused = post_form(finance, "/console/test-mode/switch", {"on": "1"})
    assert refused.status_code == 403
    assert BANNER not in finance.get("/console/").get_data(as_text=True)


def test_the_page_asks_to_switch_first_and_its_posts_are_refused_in_live(staff_client, on_sale):
    owner = staff_client("owner")
    page = owner.get("/console/test-mode").get_data(as_text=True)
    assert "当前为正式模式，请先进入测试模式" in page and "测试购卡</button>" not in page
    refused = post_form(owner, "/console/test-mode/buy", {"batch_id": str(on_sale)})
    assert refused.status_code == 409 and "请先切换到测试模式" in alerts(refused)


def test_buy_top_up_show_code_redeem_and_the_walls(app, staff_client, shop, on_sale, counter):
    live_card_id = counter.card(principal_fen=5000)
    live_card_no = _cards(app, shop.merchant_id, "live")[-1].card_no
    owner = staff_client("owner")
    _switch(owner, True)

    bought = post_form(owner, "/console/test-mode/buy", {"batch_id": str(on_sale)}, follow_redirects=True)
    assert "测试购卡成功" in bought.get_data(as_text=True)
    [card] = _cards(app, shop.merchant_id, "test")
    assert card.balance_fen == 10000
    page = owner.get("/console/test-mode").get_data(as_text=True)
    assert f'data-test-card="{card.id}"' in page and "¥100.00" in page and "测试用批次" in page

    topped = post_form(owner, f"/console/test-mode/cards/{card.id}/top-up", {"amount_fen": "300"},
                       follow_redirects=True).get_data(as_text=True)
    assert "测试充值成功：充值 ¥300.00，赠送 ¥50.00，卡内余额 ¥450.00" in topped
    bad = post_form(owner, f"/console/test-mode/cards/{card.id}/top-up", {"amount_fen": "abc"})
    assert bad.status_code == 400 and "请输入金额（元），最多两位小数" in bad.get_data(as_text=True)

    shown = post_form(owner, f"/console/test-mode/cards/{card.id}/code")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    code = re.search(r"data-test-code>(\d+)<", shown.get_data(as_text=True))[1]
    redeemed = owner.post("/console/redeem", json={"code": code, "store_id": str(shop.store_id), "amount_fen": "20"},
                          headers={"X-CSRFToken": csrf_token(owner), "Accept": "application/json",
                                   "Idempotency-Key": str(uuid.uuid4())})
    assert redeemed.status_code == 200, redeemed.get_json()
    assert _cards(app, shop.merchant_id, "test")[0].balance_fen < 45000

    # In test mode: the test card on the members and redemptions pages; the live card nowhere.
    assert f'data-card-no="{card.card_no}"' in owner.get(f"/console/cards?q={card.card_no}").get_data(as_text=True)
    assert owner.get(f"/console/cards/{card.card_no}").status_code == 200
    assert card.card_no[-4:] in owner.get("/console/redemptions").get_data(as_text=True)
    assert f'data-card-no="{live_card_no}"' not in owner.get(f"/console/cards?q={live_card_no}").get_data(as_text=True)
    assert owner.get(f"/console/cards/{live_card_no}").status_code == 404

    # Back in live: the test card and its redemption are gone from every page; the live card is back.
    _switch(owner, False)
    assert f'data-card-no="{card.card_no}"' not in owner.get(f"/console/cards?q={card.card_no}").get_data(as_text=True)
    assert owner.get(f"/console/cards/{card.card_no}").status_code == 404
    assert card.card_no[-4:] not in owner.get("/console/redemptions").get_data(as_text=True)
    assert f'data-card-no="{live_card_no}"' in owner.get(f"/console/cards?q={live_card_no}").get_data(as_text=True)
    assert _cards(app, shop.merchant_id, "live")[-1].id == live_card_id


def test_a_refund_of_a_test_card(app, staff_client, shop, on_sale):
    owner = staff_client("owner")
    _switch(owner, True)
    post_form(owner, "/console/test-mode/buy", {"batch_id": str(on_sale)})
    [card] = _cards(app, shop.merchant_id, "test")
    refunded = post_form(owner, f"/console/test-mode/cards/{card.id}/refund", follow_redirects=True)
    assert "测试退款成功：退款 ¥100.00（手续费 ¥0.00）" in refunded.get_data(as_text=True)
    again = post_form(owner, f"/console/test-mode/cards/{card.id}/refund")
    assert again.status_code >= 400 and alerts(again)


def test_the_cashier_tests_but_cannot_wipe(app, staff_client, shop, on_sale):
    cashier = staff_client("cashier")
    _switch(cashier, True)
    post_form(cashier, "/console/test-mode/buy", {"batch_id": str(on_sale)})
    page = cashier.get("/console/test-mode").get_data(as_text=True)
    assert "出示付款码" in page and "清除测试数据" not in page
    assert post_form(cashier, "/console/test-mode/wipe").status_code == 403
    assert len(_cards(app, shop.merchant_id, "test")) == 1


def test_the_owner_wipes_the_test_data_and_leaves_live(app, staff_client, shop, on_sale, counter):
    counter.card(principal_fen=5000)
    live = (_count(app, Card, shop.merchant_id, "live"))
    owner = staff_client("owner")
    _switch(owner, True)
    post_form(owner, "/console/test-mode/buy", {"batch_id": str(on_sale)})
    assert "清除测试数据" in owner.get("/console/test-mode").get_data(as_text=True)
    wiped = post_form(owner, "/console/test-mode/wipe", follow_redirects=True).get_data(as_text=True)
    assert "测试数据已清除：" in wiped and "测试卡 1 条" in wiped and "正式数据未受影响" in wiped
    assert _count(app, Card, shop.merchant_id, "test") == 0
    assert _count(app, Card, shop.merchant_id, "live") == live
    again = post_form(owner, "/console/test-mode/wipe", follow_redirects=True).get_data(as_text=True)
    assert "没有需要清除的测试数据" in again, re.findall(r"alert-success[^>]*>([^<]+)", again)


# --- 上线前测试 -----------------------------------------------------------------------------------


def test_the_test_run_page_runs_and_shows_five_steps(app, staff_client, shop):
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    owner = staff_client("owner")
    product_page = owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    assert "上线前测试：" in product_page and "未测试" in product_page
    assert f"/console/products/{product_id}/test-run" in product_page
    page = owner.get(f"/console/products/{product_id}/test-run").get_data(as_text=True)
    assert "未测试" in page and "开始测试" in page

    ran = post_form(owner, f"/console/products/{product_id}/test-run", follow_redirects=True)
    html = ran.get_data(as_text=True)
    assert "上线前测试通过，可以发布" in html and "全部通过" in html
    steps = re.findall(r'data-step="(\w+)" data-ok="(\w+)"', html)
    assert steps == [(name, "true") for name in ("purchase", "top_up", "redeem", "reverse", "refund")]
    for name in ("购卡", "充值", "核销", "冲正", "退款"):
        assert f"<strong>{name}</strong>" in html
    assert html.count("✓") == 5 and "✗" not in html and "赠送 ¥50.00" in html
    assert BANNER not in html  # the run is in test mode; the console stays live
    assert "已通过" in owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    assert _cards(app, shop.merchant_id, "live") == []


def test_a_failing_run_shows_the_cross_and_says_why(app, staff_client, shop):
    product_id = support.product(app, shop.merchant_id, **{**PRODUCT, "named": False, "face_value_fen": 90000})
    owner = staff_client("owner")
    html = post_form(owner, f"/console/products/{product_id}/test-run", follow_redirects=True).get_data(as_text=True)
    assert "上线前测试未通过" in html and "✗" in html and "上限" in html
    assert "未通过" in owner.get(f"/console/products/{product_id}").get_data(as_text=True)


def test_publishing_needs_a_passing_run_and_links_to_it(app, staff_client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "TEST_RUN_REQUIRED", True)
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    owner = staff_client("owner")
    refused = post_form(owner, f"/console/products/{product_id}/publish")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'data-error-code="TEST_RUN_REQUIRED"' in html
    assert "data-test-run-required" in html and f'href="/console/products/{product_id}/test-run">前往上线前测试' in html
    post_form(owner, f"/console/products/{product_id}/test-run")
    published = post_form(owner, f"/console/products/{product_id}/publish", follow_redirects=True)
    assert "卡种已发布" in published.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CardProduct, product_id).status == "published"


def test_a_draft_cannot_be_test_run_and_a_cashier_cannot_open_it(app, staff_client, shop):
    product_id = support.product(app, shop.merchant_id, **{**PRODUCT, "status": "draft"})
    owner = staff_client("owner")
    page = owner.get(f"/console/products/{product_id}/test-run").get_data(as_text=True)
    assert "卡种审核通过后才能进行上线前测试" in page
    refused = post_form(owner, f"/console/products/{product_id}/test-run")
    assert refused.status_code == 409 and "卡种审核通过后才能进行上线前测试" in alerts(refused)
    assert staff_client("cashier").get(f"/console/products/{product_id}/test-run").status_code == 403
