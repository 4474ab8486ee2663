"""POST/GET/DELETE /api/v1/merchant/webhooks, the delivery log and redeliver: owner only, per merchant,
bad input as 400 VALIDATION_ERROR."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db import db
from server.webhooks.events import record_event
from server.webhooks.models import WebhookEndpoint
from tests import factories
from tests.webhooks.support import create_webhook

URL = "https://erp.example.com/kabao/hooks"


def test_create_shows_the_secret_once_and_stores_it_encrypted(app, client, shop):
    created = create_webhook(client, shop, URL, events=["card.issued", "card.redeemed"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["events"], created["mode"]) == (URL, ["card.issued", "card.redeemed"], "live")
    listed = client.get("/api/v1/merchant/webhooks", headers=shop.headers()).get_json()
    assert [item["webhook_id"] for item in listed["items"]] == [created["webhook_id"]]
    assert "secret" not in listed["items"][0] and listed["next_cursor"] is None
    with app.app_context():
        stored = db.session.scalar(select(WebhookEndpoint.secret_encrypted))
    assert created["secret"] not in stored


def test_delete_stops_listing_and_answers_404_afterwards(client, shop):
    webhook_id = create_webhook(client, shop, URL)["webhook_id"]
    assert client.delete(f"/api/v1/merchant/webhooks/{webhook_id}", headers=shop.headers()).status_code == 204
    assert client.get("/api/v1/merchant/webhooks", headers=shop.headers()).get_json()["items"] == []
    assert client.delete(f"/api/v1/merchant/webhooks/{webhook_id}", headers=shop.headers()).status_code == 404
    assert client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries",
                      headers=shop.headers()).status_code == 404


@pytest.mark.parametrize("role", ["manager", "cashier", "finance", "operations"])
def test_only_the_owner_manages_webhooks(client, shop, role):
    webhook_id = create_webhook(client, shop, URL)["webhook_id"]
    headers = shop.headers(role)
    body = {"url": URL, "events": ["card.issued"]}
    assert client.post("/api/v1/merchant/webhooks", json=body, headers=headers).status_code == 403
    assert client.get("/api/v1/merchant/webhooks", headers=headers).status_code == 403
    assert client.delete(f"/api/v1/merchant/webhooks/{webhook_id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries", headers=headers).status_code == 403


def test_consumer_tokens_and_no_token_are_refused(client, issue_token):
    assert client.get("/api/v1/merchant/webhooks").status_code == 401
    assert client.get("/api/v1/merchant/webhooks", headers=issue_token(kind="consumer", id=1)).status_code == 403


def test_another_merchants_webhooks_do_not_exist(app, client, shop, issue_token, manual_dispatch):
    webhook_id = create_webhook(client, shop, URL)["webhook_id"]
    with app.app_context():
        other = factories.merchant(db.session)
        owner = factories.staff(db.session, other, "owner")
        db.session.commit()
        other_headers = issue_token(kind="staff", id=owner.id, merchant_id=other.id, role="owner")
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
    [delivery] = client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries",
                            headers=shop.headers()).get_json()["items"]
    assert client.get("/api/v1/merchant/webhooks", headers=other_headers).get_json()["items"] == []
    base = f"/api/v1/merchant/webhooks/{webhook_id}"
    assert client.delete(base, headers=other_headers).status_code == 404
    assert client.get(f"{base}/deliveries", headers=other_headers).status_code == 404
    assert client.post(f"{base}/deliveries/{delivery['delivery_id']}/redeliver",
                       headers=other_headers).status_code == 404
    # and the owner's own redeliver of a delivery under another of its endpoints is 404 too
    second = create_webhook(client, shop, URL)["webhook_id"]
    assert client.post(f"/api/v1/merchant/webhooks/{second}/deliveries/{delivery['delivery_id']}/redeliver",
                       headers=shop.headers()).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://erp.example.com/hooks", "events": ["card.issued"]}, "url"),
    ({"url": "javascript:alert(1)", "events": ["card.issued"]}, "url"),
    ({"url": "not a url", "events": ["card.issued"]}, "url"),
    ({"url": "https://user:pw@erp.example.com/", "events": ["card.issued"]}, "url"),
    ({"url": URL, "events": ["card.stolen"]}, "events"),
    ({"url": URL, "events": []}, "events"),
    ({"url": URL, "events": "card.issued"}, "events"),
    ({"url": URL, "events": ["card.issued"], "mode": "sandbox"}, "mode"),
    ({"events": ["card.issued"]}, "url"),
    ({"url": URL, "events": ["card.issued"], "secret": "mine"}, "secret"),
])
def test_bad_input_is_a_validation_error(client, shop, body, field):
    response = client.post("/api/v1/merchant/webhooks", json=body, headers=shop.headers())
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]["fields"]


def test_delivery_log_lists_the_deliveries_of_the_endpoint(app, client, shop, manual_dispatch):
    webhook_id = create_webhook(client, shop, URL, events=["card.redeemed", "card.issued"])["webhook_id"]
    with app.app_context():
        event = record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        record_event(db.session, merchant_id=shop.merchant_id, type="card.expired", data={"card": {}})  # not subscribed
        public_id = event.public_id
        db.session.commit()
    items = client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    [delivery] = items
    assert delivery["event_id"] == public_id and public_id.startswith("evt_")
    assert {k: delivery[k] for k in ("event_type", "status", "attempts", "last_status_code")} == {
        "event_type": "card.redeemed", "status": "pending", "attempts": 0, "last_status_code": None}
    assert delivery["next_attempt_at"]
    response = client.post(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries/{delivery['delivery_id']}/redeliver",
                           headers=shop.headers())
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
