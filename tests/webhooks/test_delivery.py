"""Deliveries: signed POSTs a receiver can verify, retries with growing delays until failed, redeliver,
at most 1 KB of a response kept, and nothing sent for a rolled-back change."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

from sqlalchemy import func, select

from server.db import db, utcnow
from server.jobs.queue import wait_for_jobs
from server.jobs.tasks import deliver_webhook
from server.webhooks.delivery import RETRY_DELAYS, dispatch_due
from server.webhooks.events import record_event
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from server.webhooks.signing import verify
from tests.webhooks.support import attempt_due, create_webhook


def _receiver_checks(secret: str, request) -> dict:
    """What a receiver does: recompute HMAC-SHA256 over "t.raw body" and compare."""
    fields = dict(item.split("=", 1) for item in request.headers["Kabao-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(int(time.time()) - int(fields["t"])) < 300
    assert verify(secret, request.headers["Kabao-Signature"], request.body, int(time.time()))
    assert not verify(secret, request.headers["Kabao-Signature"], request.body + b" ", int(time.time()))
    return json.loads(request.body)


def test_a_redemption_is_delivered_signed_after_the_commit(app, client, shop, counter, receiver):
    created = create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    card_id = counter.card(principal_fen=10000)
    response = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=2000)
    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    assert wait_for_jobs(app)
    assert request.headers["Content-Type"] == "application/json"
    event = _receiver_checks(created["secret"], request)
    assert request.headers["Kabao-Event-Id"] == event["id"] and event["id"].startswith("evt_")
    assert (event["type"], event["mode"], event["merchant_id"]) == ("card.redeemed", "live", shop.merchant_id)
    assert event["data"]["receipt"]["redemption_id"] == response.get_json()["redemption_id"]
    assert event["data"]["card"]["card_id"] == card_id and event["data"]["card"]["balance_fen"] == 8200
    assert event["created_at"].endswith("+08:00")
    [delivery] = client.get(f"/api/v1/merchant/webhooks/{created['webhook_id']}/deliveries",
                            headers=shop.headers()).get_json()["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 200)
    assert delivery["next_attempt_at"] is None


def test_a_rolled_back_change_sends_nothing(app, client, shop, receiver, manual_dispatch):
    create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert attempt_due(app, utcnow()) == []
    assert receiver.requests == []


def test_a_failing_endpoint_is_retried_with_growing_delays_then_failed(app, client, shop, receiver, manual_dispatch):
    receiver.status, receiver.body = 500, "错".encode() * 2000  # 6 KB
    webhook_id = create_webhook(client, shop, receiver.url, events=["card.redeemed"])["webhook_id"]
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
    first = now = utcnow()
    delays = []
    for attempt in range(1, len(RETRY_DELAYS) + 2):
        assert attempt_due(app, now - timedelta(seconds=1)) == []  # not due yet: nothing sent
        assert attempt_due(app, now) == (["failed"] if attempt == len(RETRY_DELAYS) + 1 else ["pending"])
        with app.app_context():
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery.attempts == attempt and delivery.last_status_code == 500
            if delivery.next_attempt_at is not None:
                delays.append(delivery.next_attempt_at - now)
                now = delivery.next_attempt_at
    assert delays == list(RETRY_DELAYS) and delays == sorted(delays)  # each wait longer than the last
    assert now - first >= timedelta(hours=24)  # retried for at least a day before giving up
    assert len(receiver.requests) == len(RETRY_DELAYS) + 1
    assert len({r.headers["Kabao-Event-Id"] for r in receiver.requests}) == 1  # one event, resent
    with app.app_context():
        attempts = list(db.session.scalars(select(WebhookAttempt)))
        assert len(attempts) == len(RETRY_DELAYS) + 1
        assert all(a.status_code == 500 and len(a.response_body.encode()) <= 1024 for a in attempts)
    assert attempt_due(app, now + timedelta(days=30)) == []  # failed stays failed

    # redeliver: a fresh round, and the receiver has recovered
    receiver.status, receiver.body = 204, b""
    [row] = client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    assert (row["status"], row["next_attempt_at"]) == ("failed", None)
    response = client.post(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries/{row['delivery_id']}/redeliver",
                           headers=shop.headers())
    assert response.status_code == 202
    assert attempt_due(app, utcnow()) == ["delivered"]
    [row] = client.get(f"/api/v1/merchant/webhooks/{webhook_id}/deliveries", headers=shop.headers()).get_json()["items"]
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", len(RETRY_DELAYS) + 2, 204)


def test_redeliver_of_a_delivered_event_sends_it_again_through_the_queue(app, client, shop, receiver):
    created = create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {"card_id": 1}})
        db.session.commit()
    receiver.wait_for(1)
    assert wait_for_jobs(app)
    [row] = client.get(f"/api/v1/merchant/webhooks/{created['webhook_id']}/deliveries",
                       headers=shop.headers()).get_json()["items"]
    assert row["status"] == "delivered"
    assert client.post(f"/api/v1/merchant/webhooks/{created['webhook_id']}/deliveries/{row['delivery_id']}"
                       "/redeliver", headers=shop.headers()).status_code == 202
    first, second = receiver.wait_for(2)
    assert wait_for_jobs(app)
    assert first.headers["Kabao-Event-Id"] == second.headers["Kabao-Event-Id"]
    _receiver_checks(created["secret"], second)


def test_a_delivery_job_run_twice_sends_once(app, client, shop, receiver, manual_dispatch):
    create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
        [(delivery_id, claim)] = dispatch_due(db.session, utcnow())
        db.session.commit()
        assert deliver_webhook(delivery_id, claim) == "delivered"
        assert deliver_webhook(delivery_id, claim) is None  # the duplicate finds the claim gone
        assert dispatch_due(db.session, utcnow()) == []  # and nothing is due any more
    assert len(receiver.requests) == 1


def test_a_non_2xx_answer_keeps_at_most_1_kb_of_its_body(app, client, shop, receiver, manual_dispatch):
    receiver.status, receiver.body = 404, b"x" * 5000
    create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
    assert attempt_due(app, utcnow()) == ["pending"]
    with app.app_context():
        attempt = db.session.scalar(select(WebhookAttempt))
        assert (attempt.status_code, attempt.response_body) == (404, "x" * 1024)


def test_redirects_are_not_followed(app, client, shop, receiver, manual_dispatch):
    receiver.status = 302
    create_webhook(client, shop, receiver.url, events=["card.redeemed"])
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
    assert attempt_due(app, utcnow()) == ["pending"]
    assert len(receiver.requests) == 1


def test_deleting_an_endpoint_fails_its_pending_deliveries(app, client, shop, receiver, manual_dispatch):
    webhook_id = create_webhook(client, shop, receiver.url, events=["card.redeemed"])["webhook_id"]
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={"card": {}})
        db.session.commit()
    assert client.delete(f"/api/v1/merchant/webhooks/{webhook_id}", headers=shop.headers()).status_code == 204
    assert attempt_due(app, utcnow()) == []
    with app.app_context():
        assert db.session.scalar(select(WebhookDelivery.status)) == "failed"
        assert record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={}) is None
    assert receiver.requests == []


def test_test_endpoints_get_test_events_and_both_get_shared_configuration_events(
        app, client, shop, receiver, manual_dispatch):
    live = create_webhook(client, shop, receiver.url + "/live", events=["card.redeemed", "batch.approved"])
    test = create_webhook(client, shop, receiver.url + "/test", events=["card.redeemed", "batch.approved"],
                          mode="test")
    assert test["mode"] == "test"
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={}, mode="live")
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={}, mode="test")
        record_event(db.session, merchant_id=shop.merchant_id, type="batch.approved", data={})
        db.session.commit()
    assert attempt_due(app, utcnow()) == ["delivered"] * 4
    got = sorted((r.path, json.loads(r.body)["type"], json.loads(r.body)["mode"]) for r in receiver.requests)
    assert got == [("/hooks/live", "batch.approved", "live"), ("/hooks/live", "card.redeemed", "live"),
                   ("/hooks/test", "batch.approved", "live"), ("/hooks/test", "card.redeemed", "test")]
    assert live["mode"] == "live"
