"""The API keys page: the owner creates a key shown once (with a copy button), sees it listed by prefix,
scopes, mode and last use, and revokes it; other roles never see the page."""

import re

import pytest
from sqlalchemy import select

from server.db import db
from server.open.models import ApiKey
from tests.console.helpers import alerts, post_form
from tests.open_support import open_api, other_merchant  # noqa: F401


def test_create_shows_the_key_once_then_lists_it_and_revokes(app, staff_client):
    owner = staff_client("owner")
    page = owner.get("/console/api-keys")
    assert page.status_code == 200 and "还没有 API 密钥" in page.get_data(as_text=True)

    response = post_form(owner, "/console/api-keys", {"name": "ERP 正式", "mode": "live",
                                                       "scopes": ["cards:read", "redeem"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-api-key" class="secret">(kb_live_[A-Za-z0-9_-]{43})</code>', html)[1]
    assert 'data-copy-target="new-api-key"' in html and "无法再次查看" in html

    listed = owner.get("/console/api-keys").get_data(as_text=True)
    assert key not in listed and f"{key[:12]}…" in listed
    assert "查询卡与流水" in listed and "核销、冲正" in listed and "从未使用" in listed
    assert "badge-mode-live" in listed and ">正式<" in listed

    assert owner.get("/open/v1/cards?external_id=M1", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert "从未使用" not in owner.get("/console/api-keys").get_data(as_text=True)

    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id))
    revoked = post_form(owner, f"/console/api-keys/{key_id}/revoke", follow_redirects=True)
    assert "已吊销" in revoked.get_data(as_text=True)
    assert owner.get("/open/v1/cards?external_id=M1", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_test_keys_are_marked_as_test(staff_client):
    owner = staff_client("owner")
    html = post_form(owner, "/console/api-keys", {"name": "联调", "mode": "test",
                                                   "scopes": ["cards:read"]}).get_data(as_text=True)
    assert re.search(r">kb_test_[A-Za-z0-9_-]{43}<", html)
    assert 'data-mode="test"' in html and ">测试<" in html


def test_a_refused_form_shows_the_fields(staff_client):
    owner = staff_client("owner")
    response = post_form(owner, "/console/api-keys", {"name": "", "mode": "live"})
    assert response.status_code == 400
    assert "不能为空" in alerts(response) or any("必填" in a or "长度" in a for a in alerts(response))
    assert "new-api-key" not in response.get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused(app, staff_client):
    owner = staff_client("owner")
    response = owner.post("/console/api-keys", data={"name": "x", "mode": "live", "scopes": ["redeem"]})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiKey)) is None


@pytest.mark.parametrize("role", ["manager", "finance", "operations", "cashier"])
def test_only_the_owner_sees_the_page(staff_client, role):
    client = staff_client(role)
    assert client.get("/console/api-keys").status_code == 403
    assert 'data-menu="console.api_keys"' not in client.get("/console/").get_data(as_text=True)
    response = post_form(client, "/console/api-keys", {"name": "x", "mode": "live", "scopes": ["redeem"]})
    assert response.status_code == 403


def test_another_merchants_key_cannot_be_revoked(app, staff_client, open_api, other_merchant, issue_token):  # noqa: F811
    owner = issue_token(kind="staff", id=other_merchant.owner_id, merchant_id=other_merchant.merchant_id, role="owner")
    key_id = open_api.create_key(headers=owner).get_json()["api_key_id"]
    response = post_form(staff_client("owner"), f"/console/api-keys/{key_id}/revoke")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ApiKey, key_id).revoked_at is None
