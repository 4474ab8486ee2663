"""The platform's review queues: what each merchant and product still lacks, how long it has waited
(flagged beyond 3 working days) and, for every product, its card-number rule explained."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import update

from server.cards.numbers import explain_card_no_rule
from server.db import db, utcnow
from server.merchants.models import Merchant
from server.products.models import CardProduct
from tests import factories

OVERDUE = "data-overdue"


def _page(admin_client, path: str) -> str:
    return html.unescape(admin_client.get(path).get_data(as_text=True))


def test_every_product_shows_its_card_number_rule_explained(app, admin_client):
    with app.app_context():
        merchant = factories.merchant(db.session)
        factories.product(db.session, merchant, status="pending_review", card_no_rule={"prefix": "8801", "length": 16})
        factories.product(db.session, merchant, kind="points", status="pending_review", card_no_rule={})
        db.session.commit()
    page = _page(admin_client, "/platform/products")
    assert page.count("卡号生成逻辑说明") == 2
    for rule in ({"prefix": "8801", "length": 16}, {}):
        for line in explain_card_no_rule(rule):
            assert f"<li>{line}</li>" in page


def test_a_prepaid_products_missing_fund_guarantee_is_named(app, admin_client):
    with app.app_context():
        merchant = factories.merchant(db.session)
        factories.documents(db.session, merchant, ["business_license", "legal_person_id", "company_seal"])
        factories.product(db.session, merchant, status="pending_review")
        db.session.commit()
        merchant_id = merchant.id
    assert "商户待补充：资金保障证明或风险准备金缴纳凭证" in _page(admin_client, "/platform/products")
    with app.app_context():
        factories.documents(db.session, db.session.get(Merchant, merchant_id), ["fund_guarantee"])
        db.session.commit()
    assert "商户待补充" not in _page(admin_client, "/platform/products")


def test_refused_approval_says_which_documents_are_missing(app, admin_client):
    from tests.console.helpers import alerts, post_form

    with app.app_context():
        product_id = factories.product(db.session, factories.merchant(db.session), status="pending_review").id
        db.session.commit()
    refused = post_form(admin_client, f"/platform/products/{product_id}/review", {"decision": "approve", "comment": ""})
    assert refused.status_code == 422
    assert alerts(refused) == ["缺少资质文件：资金保障证明或风险准备金缴纳凭证，请商户上传后再审核通过"]


def _age(app, model, row_id: int, column: str, age: timedelta) -> None:
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values({column: utcnow() - age}))
        db.session.commit()


def test_a_product_waiting_over_three_working_days_is_flagged(app, admin_client):
    with app.app_context():
        merchant = factories.merchant(db.session)
        product_id = factories.product(db.session, merchant, status="pending_review").id
        db.session.commit()
    page = _page(admin_client, "/platform/products")
    assert "已等待" in page and OVERDUE not in page
    _age(app, CardProduct, product_id, "updated_at", timedelta(days=8))  # 8 days always hold ≥ 4 working days
    page = _page(admin_client, "/platform/products")
    assert OVERDUE in page and "已超过 3 个工作日的审核承诺" in page


def test_a_merchant_waiting_over_three_working_days_is_flagged(app, admin_client):
    with app.app_context():
        merchant_id = factories.merchant(db.session, status="pending_review").id
        db.session.commit()
    _age(app, Merchant, merchant_id, "created_at", timedelta(hours=20))  # < 1 working day, whatever today is
    page = _page(admin_client, "/platform/merchants")
    assert "已等待 20 小时" in page and OVERDUE not in page
    _age(app, Merchant, merchant_id, "created_at", timedelta(days=8))
    assert OVERDUE in _page(admin_client, "/platform/merchants")


def test_decided_items_show_no_wait(app, admin_client):
    with app.app_context():
        merchant = factories.merchant(db.session)
        factories.product(db.session, merchant, status="approved")
        db.session.commit()
    assert "已等待" not in _page(admin_client, "/platform/products?status=all")
    assert "已等待" not in _page(admin_client, "/platform/merchants?status=all")
