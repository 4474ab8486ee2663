"""Redis stopped, paused and restarted under a running app: 503 SERVICE_UNAVAILABLE with the envelope
within 3 s, never a hang or a 500, and service again as soon as Redis is back, without a restart.

The test's own redis-server on its own port (tests/faults/services.py); PostgreSQL is the suite's.
Redis holds tokens and dynamic codes only, without persistence here: after the restart the old token
is gone (401, the consumer or cashier logs in again) — what README's "Redis durability" promises.
"""

from __future__ import annotations

import time

import pytest

from server import create_app
from server.db import db
from tests import factories

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_app(app, app_config, redis_server):
    """The app on the suite's database and the test's own Redis."""
    return create_app({**app_config, "REDIS_URL": redis_server.url})


def _login(client, username):
    return client.post("/api/v1/merchant/login", json={"username": username, "password": "secret-pass"})


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _unavailable(response, seconds):
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["X-Request-Id"]
    assert seconds < 3, f"answered after {seconds:.1f} s"


def test_redis_down_is_503_within_3_seconds_and_recovers_without_restart(own_app, redis_server):
    with own_app.app_context():
        merchant = factories.merchant(db.session)
        factories.store(db.session, merchant)
        username = factories.staff(db.session, merchant, "owner").username
        db.session.commit()
    client = own_app.test_client()
    token = _login(client, username).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/merchant/stores", headers=headers).status_code == 200

    redis_server.stop()
    for call in (lambda: client.get("/api/v1/merchant/stores", headers=headers), lambda: _login(client, username)):
        _unavailable(*_timed(call))
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["redis"] == "down"  # API.md's own health body

    redis_server.start()  # empty: no persistence
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/merchant/stores", headers=headers).status_code == 401  # tokens were lost
    fresh = {"Authorization": f"Bearer {_login(client, username).get_json()['token']}"}
    assert client.get("/api/v1/merchant/stores", headers=fresh).status_code == 200


def test_a_hung_redis_is_503_within_3_seconds(own_app, redis_server):
    client = own_app.test_client()
    assert client.get("/healthz").status_code == 200
    redis_server.pause()  # accepts connections, answers nothing
    try:
        _unavailable(*_timed(lambda: client.get("/api/v1/merchant/stores", headers={"Authorization": "Bearer x"})))
    finally:
        redis_server.resume()
    assert client.get("/healthz").status_code == 200


def test_the_console_shows_redis_down_as_an_html_page(own_app, redis_server):
    from server.console.auth import STAFF

    client = own_app.test_client()
    with client.session_transaction() as session:
        session[STAFF.session_key] = "a-signed-in-browser"
    redis_server.stop()
    response = client.get("/console/", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "缓存服务暂不可用" in page and response.headers["X-Request-Id"] in page
