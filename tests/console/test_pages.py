"""Console pages over the domain services: product wizard, stores, staff, documents, review, audit."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select, update

from server.audit.models import AuditEntry
from server.db import db
from server.merchants.models import Merchant, MerchantDocument, Staff
from server.products.models import CardProduct
from server.templates_library import get_template
from tests import factories
from tests.console.helpers import alerts, post_form


def _wizard_form(client, template_code: str = "bakery_stored_value", **changes) -> dict[str, str]:
    """The wizard's inputs as the page pre-fills them from the template, with ``changes`` typed in."""
    html = client.get(f"/console/products/new?template_code={template_code}").get_data(as_text=True)
    html = re.sub(r"<template.*?</template>", "", html, flags=re.S)
    form: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        ticked = ('type="checkbox"' not in tag and 'type="radio"' not in tag) or " checked" in tag
        if name and ticked:
            form[name[1]] = value[1] if value else ""
    for name, options in re.findall(r'<select name="([^"]+)">(.*?)</select>', html, flags=re.S):
        form[name] = re.search(r'<option value="([^"]+)" selected', options)[1]
    form["terms"] = get_template(template_code)["defaults"]["terms"]
    return {**form, **changes}


def _products(app) -> list[CardProduct]:
    with app.app_context():
        return list(db.session.scalars(select(CardProduct).order_by(CardProduct.id)))


def test_the_gallery_shows_every_template_with_its_face(staff_client):
    html = staff_client("owner").get("/console/templates").get_data(as_text=True)
    assert html.count('class="template-card"') == 12
    faces = re.findall(r'<img src="(/api/v1/faces/[^"]+\.png)"', html)
    assert len(faces) == 12
    assert staff_client("owner").get(faces[0]).data[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_wizard_is_prefilled_from_the_template(staff_client):
    form = _wizard_form(staff_client("owner"))
    assert form["name"] == "烘焙储值卡" and form["kind"] == "stored_value"
    assert form["top_up.tiers[1].amount_fen"] == "500.00" and form["top_up.tiers[1].bonus_fen"] == "60.00"
    assert form["top_up.max_fen"] == "2000.00" and form["refund.fee_percent"] == "5"
    assert form["template_code"] == "bakery_stored_value"


def test_an_unknown_template_is_a_404_page(staff_client):
    response = staff_client("owner").get("/console/products/new?template_code=nope")
    assert response.status_code == 404 and "模板不存在" in alerts(response)[0]


def test_live_validation_names_the_field_of_each_finding(staff_client):
    owner = staff_client("owner")
    form = _wizard_form(owner, terms="本卡概不退款", **{"top_up.tiers[1].amount_fen": "12.345",
                                                       "top_up.tiers[0].bonus_fen": "100"})
    result = owner.post("/console/products/validate", data=form,
                        headers={"Accept": "application/json", "X-CSRFToken": form["csrf_token"]}).get_json()
    assert {(e["field"], e["code"]) for e in result["errors"]} == {
        ("terms", "TERMS_FORBIDDEN_CLAUSE"), ("top_up.tiers[1].amount_fen", "MONEY_NOT_INTEGER_FEN")}
    assert [(w["field"], w["code"]) for w in result["warnings"]] == [("top_up.tiers[0].bonus_fen", "BONUS_RATIO_HIGH")]


def test_saving_a_draft_stores_fen_and_records_the_audit(app, staff_client):
    owner = staff_client("owner")
    response = owner.post("/console/products", data=_wizard_form(owner, name="我的烘焙卡", intent="save"))
    assert response.status_code == 303
    [product] = _products(app)
    assert response.headers["Location"] == f"/console/products/{product.id}"
    assert (product.name, product.status, product.template_code) == ("我的烘焙卡", "draft", "bakery_stored_value")
    assert product.top_up["tiers"][0] == {"amount_fen": 20000, "bonus_fen": 2000}
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "草稿已保存" in page and "保存并提交审核" in page
    with app.app_context():
        audited = db.session.scalar(select(AuditEntry.action).where(AuditEntry.target_id == product.id))
    assert audited == "product.create"


def test_submitting_with_validation_errors_is_refused_and_keeps_what_was_typed(app, staff_client):
    owner = staff_client("owner")
    response = owner.post("/console/products", data=_wizard_form(owner, terms="本卡概不退款", intent="submit"))
    assert response.status_code == 422
    assert alerts(response) == ["卡种存在校验错误，请修改后再提交"]
    html = response.get_data(as_text=True)
    assert "本卡概不退款</textarea>" in html and "TERMS_FORBIDDEN_CLAUSE" in html  # findings for console.js
    assert _products(app) == []  # the save was rolled back with the refused submit


def test_an_unstorable_value_is_refused_beside_its_field(app, staff_client):
    owner = staff_client("owner")
    response = owner.post("/console/products", data=_wizard_form(owner, **{"card_no.length": ""}))
    assert response.status_code == 400
    assert '"field": "card_no.length"' in response.get_data(as_text=True)
    assert _products(app) == []


def test_submit_approve_publish_and_retire_through_the_console(app, staff_client, admin_client, shop):
    with app.app_context():
        factories.documents(db.session, db.session.get(Merchant, shop.merchant_id))
        db.session.commit()
    owner = staff_client("owner")
    response = owner.post("/console/products", data=_wizard_form(owner, intent="submit"))
    product_id = _products(app)[0].id
    assert "已提交平台审核" in owner.get(response.headers["Location"]).get_data(as_text=True)

    pending = admin_client.get("/platform/products").get_data(as_text=True)
    assert f'data-product-id="{product_id}"' in pending and "智能校验通过" in pending
    approved = post_form(admin_client, f"/platform/products/{product_id}/review",
                         {"decision": "approve", "comment": "可以发布"})
    assert approved.status_code == 303

    page = owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    assert "平台审核意见：可以发布" in page and ">发布</button>" in page
    assert post_form(owner, f"/console/products/{product_id}/publish").status_code == 303
    assert post_form(owner, f"/console/products/{product_id}/retire").status_code == 303
    assert _products(app)[0].status == "retired"


def test_a_rejected_product_shows_the_comment_and_returns_to_draft_when_edited(app, staff_client, admin_client,
                                                                             make_product):
    product_id = make_product(status="pending_review")
    refused = post_form(admin_client, f"/platform/products/{product_id}/review", {"decision": "reject", "comment": ""})
    assert refused.status_code == 400 and "驳回时请填写原因" in alerts(refused)
    post_form(admin_client, f"/platform/products/{product_id}/review", {"decision": "reject", "comment": "面值有误"})
    owner = staff_client("owner")
    assert '<td class="review-comment">面值有误</td>' in owner.get("/console/products").get_data(as_text=True)
    assert "平台审核意见：面值有误" in owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    form = _wizard_form(owner, name="改过的卡", intent="save")
    assert owner.post(f"/console/products/{product_id}", data=form).status_code == 303
    assert (_products(app)[0].name, _products(app)[0].status) == ("改过的卡", "draft")


def test_a_state_conflict_is_shown_on_the_product_page(staff_client, make_product):
    product_id = make_product(status="draft")
    response = post_form(staff_client("owner"), f"/console/products/{product_id}/publish")
    assert response.status_code == 409
    assert alerts(response) == ["卡种当前状态为 draft，不能执行此操作"]
    assert "保存并提交审核" in response.get_data(as_text=True)


def test_another_merchants_product_is_not_found(app, staff_client):
    with app.app_context():
        other = factories.product(db.session, factories.merchant(db.session))
        db.session.commit()
        other_id = other.id
    owner = staff_client("owner")
    assert owner.get(f"/console/products/{other_id}").status_code == 404
    assert post_form(owner, f"/console/products/{other_id}/retire").status_code == 404


def test_store_form_errors_appear_beside_the_fields_with_the_input_kept(staff_client):
    response = post_form(staff_client("owner"), "/console/stores", {"name": "三号店", "region_code": "12"})
    assert response.status_code == 400
    assert "应为 6 位 GB/T 2260 行政区划代码" in alerts(response)
    assert 'value="三号店"' in response.get_data(as_text=True)


def test_staff_creation_goes_through_the_staff_service(app, staff_client, shop):
    owner = staff_client("owner")
    no_store = post_form(owner, "/console/staff", {"username": "new_cashier", "password": "cashier-pass",
                                                   "role": "cashier", "store_id": ""})
    assert no_store.status_code == 400 and "收银员必须指定门店" in alerts(no_store)
    created = post_form(owner, "/console/staff", {"username": "new_cashier", "password": "cashier-pass",
                                                  "role": "cashier", "store_id": str(shop.store_id)})
    assert created.status_code == 303
    with app.app_context():
        member = db.session.scalar(select(Staff).where(Staff.username == "new_cashier"))
        assert (member.role, member.store_id) == ("cashier", shop.store_id)
    manager = staff_client("manager")
    refused = post_form(manager, "/console/staff", {"username": "new_owner", "password": "owner-pass-1",
                                                    "role": "owner", "store_id": ""})
    assert refused.status_code == 403 and "只有店主可以创建店主或店长账号" in alerts(refused)


@pytest.fixture
def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "#3B5BDB").save(buffer, "PNG")
    return buffer.getvalue()


def test_documents_are_uploaded_and_shown_to_the_reviewer_only(app, staff_client, admin_client, shop, png):
    owner = staff_client("owner")
    bad = post_form(owner, "/console/documents", {"kind": "business_license", "file": (io.BytesIO(b"nope"), "a.png")},
                    content_type="multipart/form-data")
    assert bad.status_code == 400 and "请上传 PNG、JPEG 或 WebP 图片" in alerts(bad)
    uploaded = post_form(owner, "/console/documents", {"kind": "business_license", "file": (io.BytesIO(png), "l.png")},
                         content_type="multipart/form-data")
    assert uploaded.status_code == 303
    with app.app_context():
        document_id = db.session.scalar(select(MerchantDocument.id))
        db.session.execute(update(Merchant).values(status="pending_review"))
        db.session.commit()

    listing = admin_client.get("/platform/merchants").get_data(as_text=True)
    assert f'data-merchant-id="{shop.merchant_id}"' in listing
    assert f'src="/platform/documents/{document_id}"' in listing
    image = admin_client.get(f"/platform/documents/{document_id}")
    assert image.data == png and image.content_type == "image/png"
    assert image.headers["Cache-Control"] == "private, no-store"
    assert owner.get(f"/platform/documents/{document_id}").status_code == 302
    assert "待补充：法人身份证、公章扫描件" in listing

    refused = post_form(admin_client, f"/platform/merchants/{shop.merchant_id}/review",
                        {"decision": "approve", "comment": "资质齐全"})
    assert refused.status_code == 422
    assert alerts(refused) == ["缺少资质文件：法人身份证、公章扫描件，请商户上传后再审核通过"]
    for kind in ("legal_person_id", "company_seal"):
        post_form(owner, "/console/documents", {"kind": kind, "file": (io.BytesIO(png), f"{kind}.png")},
                  content_type="multipart/form-data")
    assert "待补充" not in admin_client.get("/platform/merchants").get_data(as_text=True)
    approved = post_form(admin_client, f"/platform/merchants/{shop.merchant_id}/review",
                         {"decision": "approve", "comment": "资质齐全"})
    assert approved.status_code == 303
    assert "资质齐全" in owner.get("/console/").get_data(as_text=True)


def test_the_audit_log_is_the_merchants_own_newest_first_and_paginated(app, staff_client, shop):
    with app.app_context():
        other = factories.merchant(db.session)
        db.session.add(AuditEntry(action="store.create", actor_type="staff", actor_id=0, merchant_id=other.id))
        for number in range(55):
            db.session.add(AuditEntry(action="store.create", actor_type="staff", actor_id=shop.staff_ids["owner"],
                                      merchant_id=shop.merchant_id, target_type="channel", target_id=number))
        db.session.commit()
    finance = staff_client("finance")
    first = finance.get("/console/audit").get_data(as_text=True)
    targets = [int(n) for n in re.findall(r"渠道 #(\d+)", first)]
    assert targets == list(range(54, 4, -1))  # newest first, 50 a page
    next_page = re.search(r'href="(/console/audit\?cursor=[^"]+)"', first)[1]
    rest = finance.get(next_page.replace("&amp;", "&")).get_data(as_text=True)
    assert [int(n) for n in re.findall(r"渠道 #(\d+)", rest)] == [4, 3, 2, 1, 0]


def test_the_platform_audit_log_shows_every_merchant(app, admin_client, shop):
    with app.app_context():
        other = factories.merchant(db.session, name="别家商户")
        db.session.add(AuditEntry(action="merchant.register", actor_type="staff", actor_id=1, merchant_id=other.id))
        db.session.commit()
    html = admin_client.get("/platform/audit").get_data(as_text=True)
    assert "别家商户" in html and "商户注册" in html
