"""Server-side request forgery: only http(s); in production no loopback, link-local or private
address — checked when saved and on the address each delivery connects to — unless allow-listed."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from server.db import db, utcnow
from server.webhooks.addresses import AddressPolicy, BlockedAddress, guarded_session
from server.webhooks.events import record_event
from server.webhooks.models import WebhookAttempt
from tests.webhooks.support import attempt_due, create_webhook

PRODUCTION = {"APP_ENV": "production"}
PUBLIC = "93.184.216.34"


def _resolving_to(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hooks", "http://10.1.2.3/hooks", "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8080/hooks", "http://192.168.1.10/", "http://172.16.0.1/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://100.64.0.1/",
])
def test_production_refuses_loopback_link_local_and_private_addresses(url):
    assert AddressPolicy.from_config(PRODUCTION).check_url(url) is not None
    assert AddressPolicy.from_config({"APP_ENV": "development"}).check_url(url) is None


def test_a_name_resolving_to_a_private_address_is_refused():
    policy = AddressPolicy.from_config(PRODUCTION, resolver=_resolving_to(PUBLIC, "10.0.0.5"))
    assert policy.check_url("https://erp.example.com/hooks") is not None
    assert AddressPolicy.from_config(PRODUCTION, resolver=_resolving_to(PUBLIC)).check_url(
        "https://erp.example.com/hooks") is None


def test_the_allow_list_lets_named_hosts_addresses_and_networks_through():
    policy = AddressPolicy.from_config({**PRODUCTION, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1, erp.internal, 10.8.0.0/16"},
                                       resolver=_resolving_to("10.9.0.1"))
    assert policy.check_url("http://127.0.0.1:9000/hooks") is None
    assert policy.check_url("http://erp.internal/hooks") is None  # the name is allowed whatever it resolves to
    assert policy.check_url("http://10.8.3.4/hooks") is None
    assert policy.check_url("http://10.9.0.1/hooks") is not None
    assert policy.check_url("http://[::1]/hooks") is not None


def test_the_api_refuses_a_private_url_in_production(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    for url in ("http://127.0.0.1:8080/hooks", "http://10.0.0.7/hooks", "http://169.254.169.254/", "http://[::1]/"):
        response = client.post("/api/v1/merchant/webhooks", json={"url": url, "events": ["card.issued"]},
                               headers=shop.headers())
        assert response.status_code == 400, url
        assert "url" in response.get_json()["error"]["details"]["fields"]
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    assert client.post("/api/v1/merchant/webhooks", json={"url": "http://127.0.0.1:8080/hooks",
                                                          "events": ["card.issued"]},
                       headers=shop.headers()).status_code == 201


def test_delivery_time_check_refuses_an_address_that_became_private(app, client, shop, receiver, manual_dispatch,
                                                                     monkeypatch):
    create_webhook(client, shop, receiver.url, events=["card.redeemed"])  # saved outside production
    with app.app_context():
        record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={})
        db.session.commit()
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    assert attempt_due(app, utcnow()) == ["pending"]  # refused: retried later, never sent
    assert receiver.requests == []
    with app.app_context():
        attempt = db.session.scalar(select(WebhookAttempt))
        assert attempt.status_code is None and attempt.error.startswith("blocked address 127.0.0.1")
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    with app.app_context():
        from server.webhooks.models import WebhookDelivery

        db.session.scalar(select(WebhookDelivery)).next_attempt_at = utcnow()
        db.session.commit()
    assert attempt_due(app, utcnow()) == ["delivered"]
    assert len(receiver.requests) == 1


def test_dns_rebinding_is_caught_on_the_connection(receiver):
    """The name looked public when saved; when connecting it resolves to loopback: no request leaves."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    policy = AddressPolicy.from_config(PRODUCTION, resolver=lambda host, port: next(answers))
    port = receiver.url.split(":")[2].split("/")[0]
    assert policy.check_url(f"http://rebind.example:{port}/hooks") is None
    blocked = pytest.raises(requests.ConnectionError, match=r"blocked address 127\.0\.0\.1")
    with guarded_session(policy) as http, blocked:
        http.post(f"http://rebind.example:{port}/hooks", data=b"{}", timeout=5)
    assert receiver.requests == []


def test_the_guarded_session_connects_to_the_checked_address(receiver):
    port = receiver.url.split(":")[2].split("/")[0]
    policy = AddressPolicy.from_config({**PRODUCTION, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.0/8"},
                                       resolver=_resolving_to("127.0.0.1"))
    with guarded_session(policy) as http:
        assert http.post(f"http://erp.example:{port}/hooks", data=b"{}", timeout=5).status_code == 200
    assert receiver.requests[0].headers["Host"] == f"erp.example:{port}"
    with pytest.raises(BlockedAddress):
        AddressPolicy.from_config(PRODUCTION, resolver=_resolving_to("::1")).resolve("x", 80)
