"""Approval needs the qualification documents of docs/api.md: a merchant the licence, the legal person's
ID and the company seal scan; a prepaid product its merchant's fund guarantee as well (422 DOCUMENTS_MISSING)."""

import io

import pytest
from PIL import Image

from server.db import db
from tests import factories
from tests.conftest import admin_headers

MERCHANT_KINDS = ["business_license", "legal_person_id", "company_seal"]


@pytest.fixture
def admin(app):
    return admin_headers(app)


def _pending_merchant(app, kinds):
    with app.app_context():
        merchant = factories.merchant(db.session, status="pending_review")
        factories.documents(db.session, merchant, kinds)
        db.session.commit()
        return merchant.id


def _review(client, admin, path, decision="approve", comment="已核对"):
    return client.post(f"/api/v1/platform/{path}/review", headers=admin,
                       json={"decision": decision, "comment": comment})


def test_a_merchant_with_no_documents_is_not_approved(client, app, admin):
    merchant_id = _pending_merchant(app, [])
    response = _review(client, admin, f"merchants/{merchant_id}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "DOCUMENTS_MISSING"
    assert error["details"]["missing"] == MERCHANT_KINDS
    assert error["message"] == "缺少资质文件：营业执照、法人身份证、公章扫描件，请商户上传后再审核通过"


@pytest.mark.parametrize("absent", MERCHANT_KINDS)
def test_each_of_the_three_documents_is_needed(client, app, admin, absent):
    merchant_id = _pending_merchant(app, [kind for kind in MERCHANT_KINDS if kind != absent])
    response = _review(client, admin, f"merchants/{merchant_id}")
    assert response.status_code == 422 and response.get_json()["error"]["details"]["missing"] == [absent]


def test_the_three_documents_suffice_without_a_fund_guarantee(client, app, admin):
    merchant_id = _pending_merchant(app, MERCHANT_KINDS)
    response = _review(client, admin, f"merchants/{merchant_id}")
    assert response.status_code == 200 and response.get_json()["status"] == "approved"


def test_a_rejection_needs_no_documents(client, app, admin):
    merchant_id = _pending_merchant(app, [])
    response = _review(client, admin, f"merchants/{merchant_id}", "reject", "请上传营业执照")
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"


def _pending_product(app, kind, documents):
    with app.app_context():
        merchant = factories.merchant(db.session)
        factories.documents(db.session, merchant, documents)
        product = factories.product(db.session, merchant, kind=kind, status="pending_review")
        db.session.commit()
        return product.id


@pytest.mark.parametrize("kind", ["stored_value", "count"])
def test_a_prepaid_product_needs_the_fund_guarantee(client, app, admin, kind):
    product_id = _pending_product(app, kind, MERCHANT_KINDS)
    response = _review(client, admin, f"card-products/{product_id}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["details"]["missing"]) == ("DOCUMENTS_MISSING", ["fund_guarantee"])
    assert "资金保障证明或风险准备金缴纳凭证" in error["message"]


@pytest.mark.parametrize("kind", ["stored_value", "count"])
def test_a_prepaid_product_with_the_fund_guarantee_is_approved(client, app, admin, kind):
    product_id = _pending_product(app, kind, [*MERCHANT_KINDS, "fund_guarantee"])
    response = _review(client, admin, f"card-products/{product_id}")
    assert response.status_code == 200 and response.get_json()["status"] == "approved"


@pytest.mark.parametrize("kind", ["points", "discount"])
def test_other_products_need_no_fund_guarantee(client, app, admin, kind):
    product_id = _pending_product(app, kind, MERCHANT_KINDS)
    assert _review(client, admin, f"card-products/{product_id}").status_code == 200


def test_a_prepaid_product_is_rejected_without_documents(client, app, admin):
    product_id = _pending_product(app, "stored_value", [])
    assert _review(client, admin, f"card-products/{product_id}", "reject", "请补充资金保障证明").status_code == 200


def test_a_product_not_pending_is_a_state_conflict_before_any_document_check(client, app, admin):
    with app.app_context():
        product = factories.product(db.session, factories.merchant(db.session), status="draft")
        db.session.commit()
        product_id = product.id
    assert _review(client, admin, f"card-products/{product_id}").status_code == 409


@pytest.mark.parametrize("kind", ["company_seal", "fund_guarantee"])
def test_the_new_kinds_are_uploaded(client, shop, kind):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, "PNG")
    response = client.post("/api/v1/merchant/documents", headers=shop.headers("owner"),
                           content_type="multipart/form-data",
                           data={"kind": kind, "file": (io.BytesIO(buffer.getvalue()), "scan.png")})
    assert response.status_code == 201 and response.get_json()["kind"] == kind


def test_the_platform_lists_say_what_is_still_missing(client, app, admin):
    from server.cards.numbers import explain_card_no_rule

    merchant_id = _pending_merchant(app, ["business_license"])
    merchants = client.get("/api/v1/platform/merchants?status=pending_review", headers=admin).get_json()["items"]
    assert [(m["merchant_id"], m["documents_missing"]) for m in merchants] == [
        (merchant_id, ["legal_person_id", "company_seal"])]
    with app.app_context():
        merchant = factories.merchant(db.session)
        factories.product(db.session, merchant, status="pending_review", card_no_rule={"prefix": "62", "length": 18})
        factories.product(db.session, merchant, kind="points", status="pending_review")
        db.session.commit()
    items = client.get("/api/v1/platform/card-products?status=pending_review", headers=admin).get_json()["items"]
    by_kind = {p["kind"]: p for p in items}
    assert {kind: p["documents_missing"] for kind, p in by_kind.items()} == {"stored_value": ["fund_guarantee"],
                                                                             "points": []}
    assert by_kind["stored_value"]["card_no_explanation"] == explain_card_no_rule({"prefix": "62", "length": 18})
