"""Merchant API: channels and batches — creation rules, roles, warnings and tenant isolation."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.db import db, utcnow
from server.merchants.models import Merchant
from tests import issuance_support as support


@pytest.fixture
def setup(app, shop):
    """The shop's published stored-value product and a channel."""
    return {"product_id": support.product(app, shop.merchant_id), "channel_id": support.channel(app, shop.merchant_id)}


def _batch_body(setup, **fields):
    return {**setup, "name": "开业储值卡", "quantity": 100, "price_fen": 10000, "issue_method": "purchase", **fields}


# --- channels ----------------------------------------------------------------------------------------


def test_create_and_list_channels(client, shop):
    body = {"name": "地推-人民广场", "kind": "offline", "allow_coupon_stacking": False, "cost_per_card_fen": 300}
    created = client.post("/api/v1/merchant/channels", json=body, headers=shop.headers("operations"))
    assert created.status_code == 201
    channel = created.get_json()
    assert {k: channel[k] for k in body} == body
    assert channel["merchant_id"] == shop.merchant_id
    listed = client.get("/api/v1/merchant/channels", headers=shop.headers("finance")).get_json()
    assert [c["channel_id"] for c in listed["items"]] == [channel["channel_id"]]
    assert listed["next_cursor"] is None


def test_channel_defaults_allow_coupon_stacking(client, shop):
    channel = client.post("/api/v1/merchant/channels", json={"name": "小程序", "kind": "miniprogram"},
                          headers=shop.headers()).get_json()
    assert channel["allow_coupon_stacking"] is True and channel["cost_per_card_fen"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "kind": "tv"}, "kind"),
    ({"kind": "offline"}, "name"),
    ({"name": "x", "kind": "offline", "cost_per_card_fen": -1}, "cost_per_card_fen"),
    ({"name": "x", "kind": "offline", "cost_per_card_fen": 1.5}, "cost_per_card_fen"),
    ({"name": "x", "kind": "offline", "colour": "red"}, "colour"),
])
def test_bad_channels_are_400_with_the_field(client, shop, body, field):
    response = client.post("/api/v1/merchant/channels", json=body, headers=shop.headers())
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("role", ["cashier", "finance"])
def test_channels_are_managed_by_owner_manager_and_operations_only(client, shop, role):
    response = client.post("/api/v1/merchant/channels", json={"name": "x", "kind": "offline"},
                           headers=shop.headers(role))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "FORBIDDEN"


def test_channels_need_a_staff_token(client, shop, issue_token):
    assert client.get("/api/v1/merchant/channels").status_code == 401
    assert client.get("/api/v1/merchant/channels", headers=issue_token(kind="consumer", id=1)).status_code == 403


# --- batches -----------------------------------------------------------------------------------------


def test_a_prepaid_batch_waits_for_approval(client, shop, setup):
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup, per_user_limit=2),
                           headers=shop.headers("operations"))
    assert response.status_code == 201
    batch = response.get_json()
    assert batch["status"] == "pending_approval"
    assert (batch["quantity"], batch["price_fen"], batch["issue_method"], batch["per_user_limit"]) == (
        100, 10000, "purchase", 2)
    assert (batch["issued_count"], batch["remaining"], batch["approvals"], batch["warnings"]) == (0, 100, [], [])
    assert batch["created_by"] == shop.staff_ids["operations"]


@pytest.mark.parametrize("kind", ["points", "discount"])
def test_a_batch_of_a_non_prepaid_product_is_active_at_once(app, client, shop, setup, kind):
    product_id = support.product(app, shop.merchant_id, kind=kind, face_value_fen=0, discount_percent=90)
    body = _batch_body(setup, product_id=product_id, price_fen=0, issue_method="claim")
    response = client.post("/api/v1/merchant/batches", json=body, headers=shop.headers())
    assert response.status_code == 201
    assert response.get_json()["status"] == "active"


def test_the_mofcom_thresholds_are_warnings_on_the_batch(app, client, shop, setup):
    product_id = support.product(app, shop.merchant_id, face_value_fen=500_000)
    body = _batch_body(setup, product_id=product_id, price_fen=500_000, per_user_limit=10)
    warnings = client.post("/api/v1/merchant/batches", json=body, headers=shop.headers()).get_json()["warnings"]
    assert {w["code"] for w in warnings} == {"BATCH_REAL_NAME_REQUIRED", "BATCH_BANK_TRANSFER_REQUIRED"}
    assert all(w["field"] == "per_user_limit" and w["message"] for w in warnings)


def test_sale_window_and_regions_are_kept_with_the_shanghai_offset(client, shop, setup):
    body = _batch_body(setup, sale_start="2030-01-01T10:00:00", sale_end="2030-02-01T00:00:00+00:00",
                       region_codes=["310101", "540102"])
    batch = client.post("/api/v1/merchant/batches", json=body, headers=shop.headers()).get_json()
    assert batch["sale_start"] == "2030-01-01T10:00:00+08:00"
    assert batch["sale_end"] == "2030-02-01T08:00:00+08:00"
    assert batch["region_codes"] == ["310101", "540102"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"issue_method": "claim", "price_fen": 100}, "price_fen"),
    ({"issue_method": "purchase", "price_fen": 0}, "price_fen"),
    ({"price_fen": 10001}, "price_fen"),  # a stored-value card above its face value
    ({"price_fen": "100"}, "price_fen"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"per_user_limit": 0}, "per_user_limit"),
    ({"issue_method": "gift"}, "issue_method"),
    ({"sale_start": "2030-02-01T00:00:00", "sale_end": "2030-01-01T00:00:00"}, "sale_end"),
    ({"sale_end": "2020-01-01T00:00:00"}, "sale_end"),
    ({"sale_start": "tomorrow"}, "sale_start"),
    ({"region_codes": ["999999"]}, "region_codes[0]"),
    ({"approved": True}, "approved"),
])
def test_bad_batches_are_400_with_the_field(client, shop, setup, fields, field):
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup, **fields), headers=shop.headers())
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("status", ["draft", "pending_review", "approved", "rejected", "retired"])
def test_only_published_products_get_batches(app, client, shop, setup, status):
    product_id = support.product(app, shop.merchant_id, status=status)
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup, product_id=product_id),
                           headers=shop.headers())
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "STATE_CONFLICT"


@pytest.mark.parametrize("status", ["pending_review", "rejected", "suspended"])
def test_only_approved_merchants_issue(app, client, shop, setup, status):
    with app.app_context():
        db.session.get(Merchant, shop.merchant_id).status = status
        db.session.commit()
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup), headers=shop.headers())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "MERCHANT_NOT_APPROVED"


@pytest.mark.parametrize("role", ["cashier", "finance"])
def test_cashiers_and_finance_cannot_create_batches(client, shop, setup, role):
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup), headers=shop.headers(role))
    assert response.status_code == 403


def test_the_creation_is_audited(app, client, shop, setup):
    batch = client.post("/api/v1/merchant/batches", json=_batch_body(setup), headers=shop.headers()).get_json()
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "batch.create"))
        assert (entry.target_id, entry.actor_id, entry.merchant_id) == (
            batch["batch_id"], shop.staff_ids["owner"], shop.merchant_id)


def test_list_and_detail_show_issued_counts(app, client, shop):
    first = support.batch(app, shop.merchant_id, issue_method="claim", quantity=10, issued_count=3)
    second = support.batch(app, shop.merchant_id, issue_method="code", quantity=5, status="pending_approval")
    listed = client.get("/api/v1/merchant/batches", headers=shop.headers("finance")).get_json()
    assert [b["batch_id"] for b in listed["items"]] == [second, first]
    pending = client.get("/api/v1/merchant/batches?status=pending_approval", headers=shop.headers()).get_json()
    assert [b["batch_id"] for b in pending["items"]] == [second]
    detail = client.get(f"/api/v1/merchant/batches/{first}", headers=shop.headers()).get_json()
    assert (detail["issued_count"], detail["remaining"]) == (3, 7)
    assert "codes" not in detail
    code_detail = client.get(f"/api/v1/merchant/batches/{second}", headers=shop.headers()).get_json()
    assert code_detail["codes"] == {"unused": 0, "bound": 0, "void": 0}


def test_list_pages_with_a_cursor(app, client, shop):
    ids = [support.batch(app, shop.merchant_id) for _ in range(3)]
    first = client.get("/api/v1/merchant/batches?limit=2", headers=shop.headers()).get_json()
    rest = client.get(f"/api/v1/merchant/batches?limit=2&cursor={first['next_cursor']}",
                      headers=shop.headers()).get_json()
    assert [b["batch_id"] for b in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


class TestTenantIsolation:
    @pytest.fixture
    def other(self, app, issue_token):
        """Another approved merchant's owner."""
        from tests import factories

        with app.app_context():
            merchant = factories.merchant(db.session)
            owner = factories.staff(db.session, merchant, "owner")
            db.session.commit()
            ids = merchant.id, owner.id
        return ids[0], issue_token(kind="staff", id=ids[1], merchant_id=ids[0], role="owner")

    def test_another_merchants_batch_is_not_found(self, app, client, shop, other):
        batch_id = support.batch(app, shop.merchant_id, status="pending_approval")
        _, headers = other
        path = f"/api/v1/merchant/batches/{batch_id}"
        assert client.get(path, headers=headers).status_code == 404
        assert client.post(f"{path}/approve", json={}, headers=headers).status_code == 404
        assert client.post(f"{path}/codes", json={"count": 1}, headers=headers).status_code == 404
        assert client.post(f"{path}/codes/void", json={"all_unused": True}, headers=headers).status_code == 404
        assert client.get("/api/v1/merchant/batches", headers=headers).get_json()["items"] == []
        assert client.get("/api/v1/merchant/channels", headers=headers).get_json()["items"] == []

    def test_another_merchants_product_or_channel_cannot_be_used(self, app, client, shop, setup, other):
        other_id, headers = other
        own_channel = support.channel(app, other_id)
        own_product = support.product(app, other_id)
        for body in (_batch_body(setup, channel_id=own_channel), _batch_body(setup, product_id=own_product)):
            assert client.post("/api/v1/merchant/batches", json=body, headers=headers).status_code == 404


def test_sale_end_in_the_future_is_accepted(client, shop, setup):
    end = (utcnow() + timedelta(days=1)).isoformat()
    response = client.post("/api/v1/merchant/batches", json=_batch_body(setup, sale_end=end), headers=shop.headers())
    assert response.status_code == 201


def test_the_openapi_document_describes_the_issuance_bodies(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = {
        (path, method): next(iter(operation["requestBody"]["content"]))
        for path, operations in spec["paths"].items() for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    assert bodies[("/api/v1/merchant/batches", "post")] == "application/json"
    assert bodies[("/api/v1/merchant/channels", "post")] == "application/json"
    assert bodies[("/api/v1/merchant/batches/{batch_id}/codes", "post")] == "application/json"
    assert bodies[("/api/v1/merchant/batches/{batch_id}/codes/bind", "post")] == "multipart/form-data"
    assert bodies[("/api/v1/mp/cards/bind", "post")] == "application/json"
    schemas = spec["components"]["schemas"].keys()
    assert schemas >= {"CreateBatch", "CreateChannel", "GenerateCodes", "VoidCodes", "BindCode", "BulkBindUpload"}
