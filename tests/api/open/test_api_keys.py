"""API keys: created by the owner and shown once, stored hashed, listed, revoked (401 afterwards),
scoped, rate limited, last use recorded; API keys and tokens never cross."""

import re

import pytest
from sqlalchemy import select, text

from server.db import db
from server.open.models import ApiKey
from tests import issuance_support as support
from tests.open_support import ALL_SCOPES, error_of


def test_owner_creates_a_key_shown_once_and_stored_hashed(app, open_api):
    response = open_api.create_key(["cards:read", "redeem"])
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    created = response.get_json()
    assert re.fullmatch(r"kb_live_[A-Za-z0-9_-]{43}", created["key"])
    assert created["key_prefix"] == created["key"][:12]
    assert (created["mode"], created["scopes"], created["name"]) == ("live", ["cards:read", "redeem"], "ERP")
    with app.app_context():
        dump = " ".join(str(value) for row in db.session.execute(text("SELECT * FROM api_keys")) for value in row)
        row = db.session.scalar(select(ApiKey))
    assert created["key"] not in dump and created["key"][12:] not in dump
    assert len(row.key_hash) == 64

    listed = open_api.client.get("/api/v1/merchant/api-keys", headers=open_api.shop.headers()).get_json()
    assert [item["api_key_id"] for item in listed["items"]] == [created["api_key_id"]]
    assert "key" not in listed["items"][0] and listed["items"][0]["key_prefix"] == created["key_prefix"]
    assert listed["items"][0]["last_used_at"] is None and listed["next_cursor"] is None


def test_test_keys_are_created_and_listed(open_api):
    key = open_api.key(mode="test")
    assert key.startswith("kb_test_") and len(key) >= len("kb_test_") + 32
    listed = open_api.client.get("/api/v1/merchant/api-keys", headers=open_api.shop.headers()).get_json()
    assert listed["items"][0]["mode"] == "test"


@pytest.mark.parametrize("role", ["manager", "operations", "finance", "cashier"])
def test_only_the_owner_manages_keys(open_api, role):
    headers = open_api.shop.headers(role)
    error_of(open_api.create_key(headers=headers), 403, "FORBIDDEN")
    error_of(open_api.client.get("/api/v1/merchant/api-keys", headers=headers), 403, "FORBIDDEN")
    key_id = open_api.create_key().get_json()["api_key_id"]
    error_of(open_api.client.delete(f"/api/v1/merchant/api-keys/{key_id}", headers=headers), 403, "FORBIDDEN")


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "scopes": ["cards:delete"], "mode": "live"}, "scopes[0]"),
    ({"name": "x", "scopes": [], "mode": "live"}, "scopes"),
    ({"name": "x", "scopes": ["redeem"], "mode": "sandbox"}, "mode"),
    ({"name": "", "scopes": ["redeem"], "mode": "live"}, "name"),
    ({"name": "a\u0000b", "scopes": ["redeem"], "mode": "live"}, "name"),
    ({"name": "ERP\n", "scopes": ["redeem"], "mode": "live"}, "name"),
    ({"scopes": ["redeem"], "mode": "live"}, "name"),
    ({"name": "x", "scopes": "redeem", "mode": "live"}, "scopes"),
])
def test_bad_key_bodies_are_400_with_the_field(open_api, body, field):
    response = open_api.client.post("/api/v1/merchant/api-keys", json=body, headers=open_api.shop.headers())
    assert field in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]


def test_a_revoked_key_answers_401_and_cannot_be_revoked_twice(open_api):
    created = open_api.create_key().get_json()
    assert open_api.get("/cards?external_id=M1", key=created["key"]).status_code == 200
    path = f"/api/v1/merchant/api-keys/{created['api_key_id']}"
    assert open_api.client.delete(path, headers=open_api.shop.headers()).status_code == 204
    error_of(open_api.get("/cards?external_id=M1", key=created["key"]), 401, "UNAUTHENTICATED")
    error_of(open_api.client.delete(path, headers=open_api.shop.headers()), 404, "NOT_FOUND")
    listed = open_api.client.get("/api/v1/merchant/api-keys", headers=open_api.shop.headers()).get_json()
    assert listed["items"][0]["status"] == "revoked" and listed["items"][0]["revoked_at"]


def test_the_key_of_a_deactivated_owner_answers_401(app, open_api):
    key = open_api.key()
    with app.app_context():
        db.session.execute(text("UPDATE staff SET active = :no WHERE id = :id"),
                           {"no": False, "id": open_api.shop.staff_ids["owner"]})
        db.session.commit()
    error_of(open_api.get("/cards?external_id=M1", key=key), 401, "UNAUTHENTICATED")


def test_another_merchants_key_cannot_be_listed_or_revoked(app, open_api, other_merchant, issue_token):
    created = open_api.create_key().get_json()
    other = issue_token(kind="staff", id=other_merchant.owner_id, merchant_id=other_merchant.merchant_id, role="owner")
    assert open_api.client.get("/api/v1/merchant/api-keys", headers=other).get_json()["items"] == []
    error_of(open_api.client.delete(f"/api/v1/merchant/api-keys/{created['api_key_id']}", headers=other),
             404, "NOT_FOUND")
    error_of(open_api.client.delete("/api/v1/merchant/api-keys/99999999999999999999", headers=other),
             404, "NOT_FOUND")
    assert open_api.get("/cards?external_id=M1", key=created["key"]).status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(app, open_api):
    created = open_api.create_key().get_json()
    open_api.get("/cards?external_id=M1", key=created["key"])
    with app.app_context():
        first = db.session.get(ApiKey, created["api_key_id"]).last_used_at
    assert first is not None
    open_api.get("/cards?external_id=M1", key=created["key"])
    with app.app_context():
        assert db.session.get(ApiKey, created["api_key_id"]).last_used_at == first
    listed = open_api.client.get("/api/v1/merchant/api-keys", headers=open_api.shop.headers()).get_json()
    assert listed["items"][0]["last_used_at"] is not None


def test_tokens_are_unknown_credentials_on_the_open_api(app, open_api, issue_token):
    consumer_headers = support.consumer_headers(issue_token, support.consumer(app))
    for headers in (open_api.shop.headers("owner"), consumer_headers, {}, {"Authorization": "Bearer kb_live_nope"},
                    {"Authorization": "Basic abc"}):
        response = open_api.client.get("/open/v1/cards?external_id=M1", headers=headers)
        error_of(response, 401, "UNAUTHENTICATED")


def test_an_api_key_is_an_unknown_credential_on_the_merchant_and_mp_apis(open_api):
    headers = {"Authorization": f"Bearer {open_api.default_key}"}
    for path in ("/api/v1/merchant/stores", "/api/v1/merchant/api-keys", "/api/v1/mp/cards",
                 "/api/v1/merchant/reports/summary"):
        error_of(open_api.client.get(path, headers=headers), 401, "UNAUTHENTICATED")
    error_of(open_api.client.post("/api/v1/mp/cards/bind", json={"code": "X"}, headers=headers),
             401, "UNAUTHENTICATED")


ENDPOINTS = [
    ("cards:write", "post", "/cards", {"batch_id": 1, "member": {"external_id": "M1"}}),
    ("cards:read", "get", "/cards?external_id=M1", None),
    ("cards:read", "get", "/cards/6201000000000000", None),
    ("cards:read", "get", "/cards/6201000000000000/transactions", None),
    ("cards:write", "post", "/cards/6201000000000000/top-ups", {"amount_fen": 100, "external_order_no": "E1"}),
    ("redeem", "post", "/redemptions", {"card_no": "6201000000000000", "store_id": 1}),
    ("redeem", "post", "/redemptions/1/reverse", {"reason": "x"}),
    ("reports:read", "get", "/reports/summary", None),
]


@pytest.mark.parametrize("scope, method, path, body", ENDPOINTS)
def test_every_endpoint_needs_its_scope(open_api, scope, method, path, body):
    without = open_api.key([s for s in ALL_SCOPES if s != scope])
    call = getattr(open_api.client, method)
    kwargs = {"json": body} if body is not None else {}
    error = error_of(call(f"/open/v1{path}", headers=open_api.headers(without), **kwargs), 403, "FORBIDDEN")
    assert error["details"]["required_scope"] == scope
    only = open_api.key([scope])
    response = call(f"/open/v1{path}", headers=open_api.headers(only), **kwargs)
    assert response.status_code not in (401, 403, 500), response.get_json()


def test_each_key_is_rate_limited_with_retry_after(app, open_api):
    first, second = open_api.key(), open_api.key()
    app.config["OPEN_API_RATE_LIMIT_PER_MINUTE"] = 3
    try:
        for _ in range(3):
            assert open_api.get("/cards?external_id=M1", key=first).status_code == 200
        response = open_api.get("/cards?external_id=M1", key=first)
        error_of(response, 429, "RATE_LIMITED")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert open_api.get("/cards?external_id=M1", key=second).status_code == 200
    finally:
        app.config.pop("OPEN_API_RATE_LIMIT_PER_MINUTE")
