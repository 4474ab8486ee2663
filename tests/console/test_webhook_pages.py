"""Console webhook pages: create (the secret shown once), list with live/test marked, delete, the
delivery log and the redeliver button — the owner's only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from server.db import db
from server.webhooks.events import record_event
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.console.helpers import alerts, post_form

URL = "https://erp.example.com/kabao/hooks"


@pytest.fixture
def owner(staff_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_AFTER_COMMIT", False)  # deliveries stay pending on these pages
    return staff_client("owner")


def test_create_shows_the_secret_once_then_lists_the_endpoint(owner):
    page = post_form(owner, "/console/webhooks", {"url": URL, "events": ["card.issued", "card.redeemed"],
                                                  "mode": "test"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r"<code class=\"secret\" data-secret>(whsec_[^<]+)</code>", html)[1]
    assert "仅显示这一次" in html
    again = owner.get("/console/webhooks").get_data(as_text=True)
    assert secret not in again and URL in again
    assert "badge-mode-test" in again and "测试" in again and "核销" in again
    assert all(secret not in value for _, value in page.headers.items())  # never in a cookie


def test_bad_input_is_shown_beside_the_fields(owner):
    page = post_form(owner, "/console/webhooks", {"url": "ftp://erp.example.com/", "events": ["card.stolen"]})
    assert page.status_code == 400
    messages = alerts(page)
    assert any("http" in m for m in messages) and any("未知的事件类型" in m for m in messages)


def test_delete_removes_the_endpoint(app, owner):
    post_form(owner, "/console/webhooks", {"url": URL, "events": ["card.issued"]})
    with app.app_context():
        webhook_id = db.session.scalar(select(WebhookEndpoint.id))
    response = post_form(owner, f"/console/webhooks/{webhook_id}/delete")
    assert response.status_code == 303
    assert URL not in owner.get("/console/webhooks").get_data(as_text=True)


def test_delivery_log_and_redeliver(app, owner, shop):
    post_form(owner, "/console/webhooks", {"url": URL, "events": ["card.redeemed"]})
    with app.app_context():
        webhook_id = db.session.scalar(select(WebhookEndpoint.id))
        event = record_event(db.session, merchant_id=shop.merchant_id, type="card.redeemed", data={})
        db.session.commit()
        delivery = db.session.scalar(select(WebhookDelivery))
        delivery.status, delivery.attempts, delivery.last_status_code, delivery.next_attempt_at = (
            "failed", 10, 500, None)
        db.session.add(WebhookAttempt(merchant_id=shop.merchant_id, delivery_id=delivery.id, status_code=500,
                                      response_body="<b>服务器错误</b>"))
        db.session.commit()
        delivery_id, public_id = delivery.id, event.public_id
    log = owner.get(f"/console/webhooks/{webhook_id}").get_data(as_text=True)
    assert public_id in log and "已失败" in log and ">500<" in log and "重新投递" in log and "正式" in log
    assert "&lt;b&gt;服务器错误&lt;/b&gt;" in log  # the endpoint's answer, escaped
    response = post_form(owner, f"/console/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
    assert response.status_code == 303
    log = owner.get(f"/console/webhooks/{webhook_id}").get_data(as_text=True)
    assert "已重新加入投递队列" in log and "投递中" in log


@pytest.mark.parametrize("role", ["manager", "cashier", "finance", "operations"])
def test_other_roles_neither_see_nor_open_the_pages(staff_client, role):
    client = staff_client(role)
    assert "/console/webhooks" not in client.get("/console/").get_data(as_text=True)
    assert client.get("/console/webhooks").status_code == 403


def test_another_merchants_endpoint_is_not_found(app, owner, staff_client, shop):
    from server.auth import Principal, PrincipalKind
    from server.console.auth import STAFF
    from tests import factories
    from tests.console.conftest import _enter

    post_form(owner, "/console/webhooks", {"url": URL, "events": ["card.issued"]})
    with app.app_context():
        webhook_id = db.session.scalar(select(WebhookEndpoint.id))
        other = factories.merchant(db.session)
        staff = factories.staff(db.session, other, "owner")
        db.session.commit()
        principal = Principal(PrincipalKind.STAFF, staff.id, merchant_id=other.id, role="owner")
    intruder = _enter(app, app.test_client(), STAFF, principal)
    assert intruder.get(f"/console/webhooks/{webhook_id}").status_code == 404
    assert post_form(intruder, f"/console/webhooks/{webhook_id}/delete").status_code == 404
