"""Card products: templates, validation, the draft → published lifecycle, and its guards."""

import pytest

from tests.conftest import admin_headers


@pytest.fixture
def admin(app):
    return admin_headers(app)


@pytest.fixture
def documented(app, shop):
    """The shop has uploaded every qualification document an approval needs."""
    from server.db import db
    from server.merchants.models import Merchant
    from tests import factories

    with app.app_context():
        factories.documents(db.session, db.session.get(Merchant, shop.merchant_id))
        db.session.commit()


def test_template_library_lists_complete_products(client):
    items = client.get("/api/v1/templates").get_json()["items"]
    assert len(items) >= 12
    assert {"stored_value", "count", "points", "discount"} <= {t["kind"] for t in items}
    sample = items[0]
    assert {"code", "industry", "name", "kind", "description", "defaults", "face_image_url"} <= set(sample)


def test_every_template_face_is_a_png(client):
    for template in client.get("/api/v1/templates").get_json()["items"]:
        response = client.get(template["face_image_url"].removeprefix("http://127.0.0.1:5000"))
        assert response.status_code == 200 and response.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert response.headers["Cache-Control"].startswith("public")


def test_forged_face_tokens_are_404(client):
    assert client.get("/api/v1/faces/not-a-signed-token.png").status_code == 404


def _create(client, shop, **fields):
    return client.post("/api/v1/merchant/card-products", headers=shop.headers(), json=fields)


def test_create_from_template_merges_defaults_with_given_fields(client, shop):
    code = client.get("/api/v1/templates").get_json()["items"][0]["code"]
    response = _create(client, shop, template_code=code, name="本店专属卡")
    assert response.status_code == 201
    product = response.get_json()
    assert product["status"] == "draft" and product["name"] == "本店专属卡"
    assert product["validation"] == {"errors": [], "warnings": []}
    assert product["template_code"] == code


def test_validate_reports_errors_with_field_code_and_chinese_message(client, shop):
    response = client.post("/api/v1/merchant/card-products/validate", headers=shop.headers(), json={
        "name": "储值卡", "kind": "stored_value", "named": False, "face_value_fen": 200000,
        "refund": {"allowed": False}, "terms": "本卡概不退款", "validity": {"type": "permanent"},
    })
    assert response.status_code == 200
    errors = {(e["field"], e["code"]) for e in response.get_json()["errors"]}
    assert ("face_value_fen", "CARD_VALUE_CAP_EXCEEDED") in errors
    assert ("refund.allowed", "REFUND_NOT_ALLOWED_ON_PREPAID") in errors
    assert ("terms", "TERMS_FORBIDDEN_CLAUSE") in errors
    assert all(e["message"] for e in response.get_json()["errors"])


def test_validate_never_400s_on_wrong_types(client, shop):
    response = client.post("/api/v1/merchant/card-products/validate", headers=shop.headers(),
                           json={"name": 5, "kind": "stored_value", "face_value_fen": "lots"})
    assert response.status_code == 200
    assert any(e["code"] == "INVALID_TYPE" for e in response.get_json()["errors"])


def test_create_with_wrong_types_is_400(client, shop):
    response = _create(client, shop, name="卡", kind="stored_value", face_value_fen="100")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"] == {"face_value_fen": "必须是整数"}


def test_submit_with_errors_is_422_then_fix_submit_review_publish(client, shop, admin, documented):
    template = next(t for t in client.get("/api/v1/templates").get_json()["items"] if t["kind"] == "stored_value")
    product = _create(client, shop, template_code=template["code"], terms="余额不退").get_json()
    pid = product["product_id"]
    blocked = client.post(f"/api/v1/merchant/card-products/{pid}/submit", headers=shop.headers())
    assert blocked.status_code == 422
    assert blocked.get_json()["error"]["code"] == "VALIDATION_FAILED"
    assert blocked.get_json()["error"]["details"]["errors"][0]["field"] == "terms"

    fixed = client.patch(f"/api/v1/merchant/card-products/{pid}", headers=shop.headers(),
                         json={"terms": template["defaults"]["terms"]})
    assert fixed.status_code == 200 and fixed.get_json()["validation"]["errors"] == []
    submitted = client.post(f"/api/v1/merchant/card-products/{pid}/submit", headers=shop.headers())
    assert submitted.get_json()["status"] == "pending_review"

    locked = client.patch(f"/api/v1/merchant/card-products/{pid}", headers=shop.headers(), json={"name": "改名"})
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "STATE_CONFLICT"
    early = client.post(f"/api/v1/merchant/card-products/{pid}/publish", headers=shop.headers())
    assert early.status_code == 409

    pending = client.get("/api/v1/platform/card-products?status=pending_review", headers=admin).get_json()
    assert [p["product_id"] for p in pending["items"]] == [pid]
    assert pending["items"][0]["validation"]["errors"] == []
    approved = client.post(f"/api/v1/platform/card-products/{pid}/review", headers=admin,
                           json={"decision": "approve", "comment": "资料齐全"})
    assert approved.get_json()["status"] == "approved"
    published = client.post(f"/api/v1/merchant/card-products/{pid}/publish", headers=shop.headers())
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    retired = client.post(f"/api/v1/merchant/card-products/{pid}/retire", headers=shop.headers())
    assert retired.get_json()["status"] == "retired"


def test_rejection_comment_reaches_the_merchant_and_editing_returns_to_draft(client, shop, admin):
    template = client.get("/api/v1/templates").get_json()["items"][1]
    pid = _create(client, shop, template_code=template["code"]).get_json()["product_id"]
    client.post(f"/api/v1/merchant/card-products/{pid}/submit", headers=shop.headers())
    no_comment = client.post(f"/api/v1/platform/card-products/{pid}/review", headers=admin,
                             json={"decision": "reject"})
    assert no_comment.status_code == 400
    client.post(f"/api/v1/platform/card-products/{pid}/review", headers=admin,
                json={"decision": "reject", "comment": "请补充使用说明"})
    mine = client.get(f"/api/v1/merchant/card-products/{pid}", headers=shop.headers()).get_json()
    assert (mine["status"], mine["review_comment"]) == ("rejected", "请补充使用说明")
    edited = client.patch(f"/api/v1/merchant/card-products/{pid}", headers=shop.headers(), json={"name": "新名字"})
    assert edited.get_json()["status"] == "draft"


def test_unapproved_merchant_prepares_but_cannot_publish(client, app, admin):
    from server.db import db
    from server.products.models import CardProduct
    from tests import factories

    with app.app_context():
        merchant = factories.merchant(db.session, status="pending_review")
        owner = factories.staff(db.session, merchant, "owner")
        product = factories.product(db.session, merchant, status="approved")
        db.session.commit()
        ids = merchant.id, owner.id, product.id
    from server.auth import Principal, PrincipalKind, issue_token
    from server.extensions import get_redis

    with app.app_context():
        token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, ids[1], merchant_id=ids[0], role="owner"), 60)
    headers = {"Authorization": f"Bearer {token}"}
    prepared = client.post("/api/v1/merchant/card-products", headers=headers,
                           json={"name": "卡", "kind": "points", "points": {"earn_per_yuan": 1}})
    assert prepared.status_code == 201
    response = client.post(f"/api/v1/merchant/card-products/{ids[2]}/publish", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "MERCHANT_NOT_APPROVED"
    with app.app_context():
        assert db.session.get(CardProduct, ids[2]).status == "approved"


def test_another_merchants_product_is_404(client, shop, app):
    from server.db import db
    from tests import factories

    with app.app_context():
        foreign = factories.product(db.session, factories.merchant(db.session), status="draft").id
        db.session.commit()
    assert client.get(f"/api/v1/merchant/card-products/{foreign}", headers=shop.headers()).status_code == 404
    assert client.patch(f"/api/v1/merchant/card-products/{foreign}", headers=shop.headers(),
                        json={"name": "x"}).status_code == 404


def test_store_scope_must_name_own_stores(client, shop):
    bad = _create(client, shop, name="卡", kind="discount", discount_percent=90, store_scope=[999999])
    assert bad.status_code == 400 and "store_scope" in bad.get_json()["error"]["details"]["fields"]
    good = _create(client, shop, name="卡", kind="discount", discount_percent=90, store_scope=[shop.store_id])
    assert good.status_code == 201 and good.get_json()["store_scope"] == [shop.store_id]


def test_cashier_cannot_create_products_and_merchant_tokens_cannot_review(client, shop):
    response = client.post("/api/v1/merchant/card-products", headers=shop.headers("cashier"),
                           json={"name": "卡", "kind": "points"})
    assert response.status_code == 403
    review = client.post("/api/v1/platform/card-products/1/review", headers=shop.headers("owner"),
                         json={"decision": "approve"})
    assert review.status_code == 403
