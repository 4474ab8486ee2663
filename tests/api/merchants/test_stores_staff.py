"""Stores and staff: who may create what, and store-bound staff see only their store."""

import pytest


def test_owner_creates_a_store_and_everyone_at_hq_lists_it(client, shop):
    response = client.post("/api/v1/merchant/stores", headers=shop.headers("owner"),
                           json={"name": "静安店", "region_code": "310106", "address": "南京西路 1 号"})
    assert response.status_code == 201
    store_id = response.get_json()["store_id"]
    listed = client.get("/api/v1/merchant/stores", headers=shop.headers("finance")).get_json()["items"]
    assert store_id in {s["store_id"] for s in listed}


def test_cashier_sees_only_their_store_and_cannot_create_one(client, shop):
    listed = client.get("/api/v1/merchant/stores", headers=shop.headers("cashier")).get_json()["items"]
    assert [s["store_id"] for s in listed] == [shop.store_id]
    response = client.post("/api/v1/merchant/stores", headers=shop.headers("cashier"),
                           json={"name": "新店", "region_code": "310106"})
    assert response.status_code == 403


def test_duplicate_store_name_and_bad_region_are_field_errors(client, shop):
    dup = client.post("/api/v1/merchant/stores", headers=shop.headers(),
                      json={"name": "一号店", "region_code": "310101"})
    assert dup.status_code == 400 and "name" in dup.get_json()["error"]["details"]["fields"]
    bad = client.post("/api/v1/merchant/stores", headers=shop.headers(), json={"name": "X", "region_code": "31"})
    assert bad.status_code == 400 and "region_code" in bad.get_json()["error"]["details"]["fields"]


def test_cashier_needs_a_store_and_logs_in_bound_to_it(client, shop):
    missing = client.post("/api/v1/merchant/staff", headers=shop.headers(),
                          json={"username": "cash2", "password": "password-123", "role": "cashier"})
    assert missing.status_code == 400 and "store_id" in missing.get_json()["error"]["details"]["fields"]
    created = client.post("/api/v1/merchant/staff", headers=shop.headers(),
                          json={"username": "cash2", "password": "password-123", "role": "cashier",
                                "store_id": shop.store_id})
    assert created.status_code == 201
    login = client.post("/api/v1/merchant/login", json={"username": "cash2", "password": "password-123"}).get_json()
    assert (login["role"], login["store_id"]) == ("cashier", shop.store_id)


@pytest.mark.parametrize("role", ["cashier", "finance", "operations"])
def test_only_owners_and_managers_create_staff(client, shop, role):
    response = client.post("/api/v1/merchant/staff", headers=shop.headers(role),
                           json={"username": f"x{role}", "password": "password-123", "role": "cashier",
                                 "store_id": shop.store_id})
    assert response.status_code == 403


def test_manager_cannot_create_an_owner(client, shop):
    response = client.post("/api/v1/merchant/staff", headers=shop.headers("manager"),
                           json={"username": "boss2", "password": "password-123", "role": "owner"})
    assert response.status_code == 403


def test_store_manager_creates_staff_only_for_their_store(client, shop):
    store_manager = shop.headers("manager", store_id=shop.store_id)
    elsewhere = client.post("/api/v1/merchant/staff", headers=store_manager,
                            json={"username": "cashier3", "password": "password-123", "role": "cashier",
                                  "store_id": shop.other_store_id})
    assert elsewhere.status_code == 403
    here = client.post("/api/v1/merchant/staff", headers=store_manager,
                       json={"username": "cashier4", "password": "password-123", "role": "cashier",
                             "store_id": shop.store_id})
    assert here.status_code == 201


def test_another_merchants_store_is_not_found(client, shop, app):
    from server.db import db
    from tests import factories

    with app.app_context():
        other = factories.merchant(db.session)
        foreign_store = factories.store(db.session, other).id
        db.session.commit()
    response = client.post("/api/v1/merchant/staff", headers=shop.headers(),
                           json={"username": "cashier5", "password": "password-123", "role": "cashier",
                                 "store_id": foreign_store})
    assert response.status_code == 404


def test_consumer_token_on_a_merchant_endpoint_is_403(client, shop, issue_token):
    consumer = issue_token(kind="consumer", id=1)
    assert client.get("/api/v1/merchant/stores", headers=consumer).status_code == 403
