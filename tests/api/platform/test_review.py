"""Platform admins log in and review merchants; the merchant sees the decision and comment."""

import pytest

from server.db import db
from tests import factories
from tests.conftest import admin_headers


@pytest.fixture
def admin(app):
    return admin_headers(app)


@pytest.fixture
def pending(app):
    with app.app_context():
        merchant = factories.merchant(db.session, status="pending_review", name="待审核小店")
        factories.documents(db.session, merchant)
        owner = factories.staff(db.session, merchant, "owner", username="pending_owner", password="pending-pass")
        db.session.commit()
        return merchant.id, owner.id


def test_admin_login_and_lockout(client, app):
    app.test_cli_runner().invoke(args=["create-admin", "reviewer", "--password", "review-pass-1"])
    ok = client.post("/api/v1/platform/login", json={"username": "reviewer", "password": "review-pass-1"})
    assert ok.status_code == 200 and ok.get_json()["token"]
    for _ in range(5):
        assert client.post("/api/v1/platform/login",
                           json={"username": "reviewer", "password": "nope"}).status_code == 401
    assert client.post("/api/v1/platform/login",
                       json={"username": "reviewer", "password": "review-pass-1"}).status_code == 429


def test_pending_merchants_are_listed_and_approved_with_a_comment(client, admin, pending):
    merchant_id, _ = pending
    listed = client.get("/api/v1/platform/merchants?status=pending_review", headers=admin).get_json()
    assert [m["merchant_id"] for m in listed["items"]] == [merchant_id]
    assert listed["items"][0]["merchant_name"] == "待审核小店"
    response = client.post(f"/api/v1/platform/merchants/{merchant_id}/review", headers=admin,
                           json={"decision": "approve", "comment": "资质齐全"})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    again = client.post(f"/api/v1/platform/merchants/{merchant_id}/review", headers=admin,
                        json={"decision": "reject", "comment": "x"})
    assert again.status_code == 409
    assert client.get("/api/v1/platform/merchants?status=pending_review", headers=admin).get_json()["items"] == []


def test_rejected_merchant_sees_the_comment(client, admin, pending):
    merchant_id, _ = pending
    client.post(f"/api/v1/platform/merchants/{merchant_id}/review", headers=admin,
                json={"decision": "reject", "comment": "营业执照照片不清晰"})
    token = client.post("/api/v1/merchant/login",
                        json={"username": "pending_owner", "password": "pending-pass"}).get_json()["token"]
    profile = client.get("/api/v1/merchant/profile", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (profile["status"], profile["review_comment"]) == ("rejected", "营业执照照片不清晰")


def test_review_is_audited(client, admin, pending, app):
    from sqlalchemy import select

    from server.audit.models import AuditEntry

    merchant_id, _ = pending
    client.post(f"/api/v1/platform/merchants/{merchant_id}/review", headers=admin,
                json={"decision": "approve", "comment": "ok"})
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "merchant.approve"))
        assert entry.target_id == merchant_id and entry.detail["to"] == "approved"


@pytest.mark.parametrize("path", ["/api/v1/platform/merchants", "/api/v1/platform/card-products"])
def test_merchant_and_consumer_tokens_are_refused(client, shop, issue_token, path):
    assert client.get(path, headers=shop.headers("owner")).status_code == 403
    assert client.get(path, headers=issue_token(kind="consumer", id=1)).status_code == 403
    assert client.get(path).status_code == 401


def test_unknown_merchant_is_404(client, admin):
    response = client.post("/api/v1/platform/merchants/999999/review", headers=admin,
                           json={"decision": "approve", "comment": ""})
    assert response.status_code == 404
