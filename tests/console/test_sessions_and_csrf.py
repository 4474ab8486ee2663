"""Console sign-in and sign-out, session cookies, CSRF protection and the separation of the two consoles."""

from __future__ import annotations

from server import create_app
from server.db import db
from server.merchants.models import Staff, Store
from tests.console.helpers import alerts, csrf_token, post_form


def _username(app, staff_id: int) -> str:
    with app.app_context():
        return db.session.get(Staff, staff_id).username


def _store_count(app) -> int:
    with app.app_context():
        return db.session.query(Store).count()


def test_pages_need_a_signed_in_user(client):
    response = client.get("/console/products")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/products"


def test_staff_sign_in_with_password_then_out_revokes_the_session(app, client, shop):
    username = _username(app, shop.staff_ids["owner"])
    login = client.post("/console/login", data={"csrf_token": csrf_token(client), "username": username,
                                                "password": "secret-pass", "next": "/console/stores"})
    assert login.status_code == 303 and login.headers["Location"] == "/console/stores"
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200 and username in dashboard.get_data(as_text=True)
    cookie = client.get_cookie("kabao_session").value

    logout = post_form(client, "/console/logout")
    assert logout.status_code == 303 and logout.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302
    client.set_cookie("kabao_session", cookie)  # a copy of the cookie taken before signing out
    assert client.get("/console/").status_code == 302


def test_session_cookie_is_http_only_and_same_site_lax(client):
    cookie = client.get("/console/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP outside production


def test_production_marks_the_session_cookie_secure(app_config):
    production = create_app({**app_config, "APP_ENV": "production", "SECRET_KEY": "a-real-secret",
                             "DATABASE_URL": "postgresql://kabao@db.invalid/kabao", "REDIS_URL": None})
    assert production.config["SESSION_COOKIE_SECURE"] is True


def test_wrong_password_is_shown_on_the_login_page_in_chinese(app, client, shop):
    username = _username(app, shop.staff_ids["owner"])
    response = client.post("/console/login",
                           data={"csrf_token": csrf_token(client), "username": username, "password": "nope"})
    assert response.status_code == 401
    assert alerts(response) == ["用户名或密码错误"]
    assert f'value="{username}"' in response.get_data(as_text=True)


def test_after_sign_in_only_console_paths_are_followed(app, client, shop):
    username = _username(app, shop.staff_ids["owner"])
    for target in ("https://evil.example/", "//evil.example/console", "/platform/merchants", "/\\evil.example"):
        response = client.post("/console/login", data={"csrf_token": csrf_token(client), "username": username,
                                                       "password": "secret-pass", "next": target})
        assert response.headers["Location"] == "/console/", target


def test_a_form_post_without_csrf_token_is_refused_and_changes_nothing(app, staff_client):
    owner = staff_client("owner")
    before = _store_count(app)
    response = owner.post("/console/stores", data={"name": "新店", "region_code": "310101"})
    assert response.status_code == 400
    assert "页面已过期或来源不明，请刷新页面后重试" in alerts(response)
    forged = owner.post("/console/stores", data={"csrf_token": "forged", "name": "新店", "region_code": "310101"})
    assert forged.status_code == 400
    assert _store_count(app) == before
    assert post_form(owner, "/console/stores", {"name": "新店", "region_code": "310101"}).status_code == 303
    assert _store_count(app) == before + 1


def test_login_itself_needs_the_csrf_token(app, client, shop):
    username = _username(app, shop.staff_ids["owner"])
    response = client.post("/console/login", data={"username": username, "password": "secret-pass"})
    assert response.status_code == 400 and client.get("/console/").status_code == 302


def test_script_requests_carry_the_token_in_a_header_and_get_json_errors(staff_client):
    owner = staff_client("owner")
    refused = owner.post("/console/products/validate", data={"name": "卡"}, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "CSRF_FAILED"
    accepted = owner.post("/console/products/validate", data={"name": "卡", "kind": "stored_value"},
                          headers={"Accept": "application/json", "X-CSRFToken": csrf_token(owner)})
    assert accepted.status_code == 200 and set(accepted.get_json()) == {"errors", "warnings"}


def test_an_expired_session_gets_a_json_401_from_script_endpoints(client):
    response = client.post("/console/products/validate",
                           headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "UNAUTHENTICATED"


def test_the_json_api_keeps_working_without_csrf_tokens(app, client, shop):
    username = _username(app, shop.staff_ids["owner"])
    response = client.post("/api/v1/merchant/login", json={"username": username, "password": "secret-pass"})
    assert response.status_code == 200 and response.get_json()["token"]


def test_staff_and_platform_sessions_are_separate(staff_client, admin_client):
    assert staff_client("owner").get("/platform/merchants").headers["Location"].startswith("/platform/login")
    assert admin_client.get("/console/").headers["Location"].startswith("/console/login")
    assert admin_client.get("/platform/merchants").status_code == 200


def test_admin_signs_in_and_out_of_the_platform_console(app, client):
    app.test_cli_runner().invoke(args=["create-admin", "auditor", "--password", "audit-pass-1"])
    response = client.post("/platform/login", data={"csrf_token": csrf_token(client, "platform"),
                                                    "username": "auditor", "password": "audit-pass-1"})
    assert response.status_code == 303 and response.headers["Location"] == "/platform/"
    assert client.get("/platform/", follow_redirects=True).request.path == "/platform/merchants"
    assert post_form(client, "/platform/logout").status_code == 303
    assert client.get("/platform/merchants").status_code == 302


def test_console_pages_forbid_framing_and_foreign_scripts(staff_client):
    headers = staff_client("owner").get("/console/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
