"""Dual approval of prepaid batches: operations and finance, two different people except at an individual merchant."""

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.db import db
from server.issuance.models import BatchApproval
from server.merchants.models import Merchant
from tests import factories
from tests import issuance_support as support


@pytest.fixture
def pending(app, shop):
    return support.batch(app, shop.merchant_id, status="pending_approval", issue_method="purchase", price_fen=10000)


def _approve(client, batch_id, headers):
    return client.post(f"/api/v1/merchant/batches/{batch_id}/approve", json={}, headers=headers)


def _error(response):
    return response.status_code, response.get_json()["error"]["code"]


def test_operations_then_finance_activate_the_batch(app, client, shop, pending):
    first = _approve(client, pending, shop.headers("operations"))
    assert first.status_code == 200
    assert first.get_json()["status"] == "pending_approval"
    second = _approve(client, pending, shop.headers("finance")).get_json()
    assert second["status"] == "active"
    assert [(a["role"], a["staff_id"]) for a in second["approvals"]] == [
        ("operations", shop.staff_ids["operations"]), ("finance", shop.staff_ids["finance"])]
    assert all(a["at"].endswith("+08:00") for a in second["approvals"])
    with app.app_context():
        audited = db.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "batch.approve")).all()
    assert audited == [{"role": "operations", "status": "pending_approval"}, {"role": "finance", "status": "active"}]


def test_finance_may_approve_first(client, shop, pending):
    assert _approve(client, pending, shop.headers("finance")).get_json()["approvals"][0]["role"] == "finance"
    assert _approve(client, pending, shop.headers("operations")).get_json()["status"] == "active"


def test_an_owner_gives_the_missing_approval(client, shop, pending):
    assert _approve(client, pending, shop.headers("finance")).status_code == 200
    approved = _approve(client, pending, shop.headers("owner")).get_json()
    assert approved["status"] == "active"
    assert approved["approvals"][1] == {**approved["approvals"][1], "role": "operations",
                                        "staff_id": shop.staff_ids["owner"]}


def test_the_same_person_cannot_give_both_approvals_at_a_chain(client, shop, pending):
    assert _approve(client, pending, shop.headers("owner")).get_json()["approvals"][0]["role"] == "operations"
    assert _error(_approve(client, pending, shop.headers("owner"))) == (409, "STATE_CONFLICT")
    assert _approve(client, pending, shop.headers("finance")).get_json()["status"] == "active"


def test_a_role_approves_once(client, shop, pending):
    assert _approve(client, pending, shop.headers("operations")).status_code == 200
    assert _error(_approve(client, pending, shop.headers("operations"))) == (409, "STATE_CONFLICT")


def test_a_second_operations_person_cannot_stand_in_for_finance(app, client, shop, pending, issue_token):
    with app.app_context():
        colleague = factories.staff(db.session, db.session.get(Merchant, shop.merchant_id), "operations")
        db.session.commit()
        colleague_id = colleague.id
    assert _approve(client, pending, shop.headers("operations")).status_code == 200
    response = _approve(client, pending, issue_token(kind="staff", id=colleague_id, merchant_id=shop.merchant_id,
                                                     role="operations"))
    assert _error(response) == (409, "STATE_CONFLICT")


def test_an_individual_merchants_owner_gives_both(app, client, issue_token):
    with app.app_context():
        merchant = factories.merchant(db.session, kind="individual")
        owner = factories.staff(db.session, merchant, "owner")
        db.session.commit()
        merchant_id, owner_id = merchant.id, owner.id
    headers = issue_token(kind="staff", id=owner_id, merchant_id=merchant_id, role="owner")
    batch_id = support.batch(app, merchant_id, status="pending_approval")
    assert _approve(client, batch_id, headers).get_json()["status"] == "pending_approval"
    approved = _approve(client, batch_id, headers).get_json()
    assert approved["status"] == "active"
    assert [(a["role"], a["staff_id"]) for a in approved["approvals"]] == [("operations", owner_id),
                                                                          ("finance", owner_id)]
    assert _error(_approve(client, batch_id, headers)) == (409, "STATE_CONFLICT")


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_managers_and_cashiers_cannot_approve(client, shop, pending, role):
    assert _error(_approve(client, pending, shop.headers(role))) == (403, "FORBIDDEN")


def test_an_active_batch_needs_no_approval(app, client, shop):
    batch_id = support.batch(app, shop.merchant_id, status="active")
    assert _error(_approve(client, batch_id, shop.headers("finance"))) == (409, "STATE_CONFLICT")


def test_the_body_takes_no_fields(client, shop, pending):
    response = client.post(f"/api/v1/merchant/batches/{pending}/approve", json={"role": "finance"},
                           headers=shop.headers("owner"))
    assert response.status_code == 400
    assert client.post(f"/api/v1/merchant/batches/{pending}/approve",
                       headers=shop.headers("owner")).status_code == 200


def test_approvals_are_rows_of_their_own(app, client, shop, pending):
    _approve(client, pending, shop.headers("operations"))
    with app.app_context():
        rows = db.session.scalars(select(BatchApproval)).all()
        assert [(r.batch_id, r.role, r.staff_id, r.merchant_id) for r in rows] == [
            (pending, "operations", shop.staff_ids["operations"], shop.merchant_id)]
