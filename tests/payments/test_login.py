"""POST /api/v1/mp/login through the served app and the simulator's jscode2session."""

from __future__ import annotations

import logging
import uuid

from server import crypto
from server.consumers.models import Consumer
from wechat_simulator import simulated_openid, simulated_unionid


def _code(name: str, *flags: str) -> str:
    return ":".join(["sim", name, *flags, uuid.uuid4().hex[:8]])


def _consumer(live, consumer_id: int) -> Consumer:
    def load(session):
        row = session.get(Consumer, consumer_id)
        session.expunge(row)
        return row

    return live.query(load)


def test_new_consumer_gets_a_token_that_works(live, caplog):
    caplog.set_level(logging.DEBUG)
    response = live.post("/api/v1/mp/login", json={"code": _code("alice")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_in", "consumer_id"}
    assert body["expires_in"] == live.app.config["TOKEN_TTL_SECONDS"]

    consumer = _consumer(live, body["consumer_id"])
    assert consumer.openid == simulated_openid(live.settings.appid, "alice")
    assert consumer.unionid is None and consumer.last_login_at is not None
    session_key = crypto.decrypt(live.app.config, consumer.session_key_encrypted)
    assert session_key and session_key not in consumer.session_key_encrypted
    assert session_key not in response.text
    assert session_key not in caplog.text

    # The token is a consumer token: it opens consumer endpoints (an unknown order is 404, not 401).
    order = live.get("/api/v1/mp/orders/P123", headers={"Authorization": f"Bearer {body['token']}"})
    assert order.status_code == 404


def test_returning_consumer_keeps_their_id_and_gets_a_new_session_key(live):
    first = live.post("/api/v1/mp/login", json={"code": _code("bob")}).json()
    key_before = _consumer(live, first["consumer_id"]).session_key_encrypted
    again = live.post("/api/v1/mp/login", json={"code": _code("bob")}).json()
    assert again["consumer_id"] == first["consumer_id"]
    assert again["token"] != first["token"]
    assert _consumer(live, first["consumer_id"]).session_key_encrypted != key_before


def test_unionid_is_filled_in_when_wechat_returns_it(live):
    plain = live.post("/api/v1/mp/login", json={"code": _code("carol")}).json()
    with_union = live.post("/api/v1/mp/login", json={"code": _code("carol", "union")}).json()
    assert with_union["consumer_id"] == plain["consumer_id"]
    assert _consumer(live, plain["consumer_id"]).unionid == simulated_unionid("carol")


def test_known_unionid_under_a_new_openid_is_the_same_consumer(live):
    """The mini-program moved to a new appid: same person (unionid), new openid — keep their cards."""
    def old_account(session):
        row = Consumer(openid="o-under-the-old-appid", unionid=simulated_unionid("dave"))
        session.add(row)
        session.commit()
        return row.id

    consumer_id = live.query(old_account)
    body = live.post("/api/v1/mp/login", json={"code": _code("dave", "union")}).json()
    assert body["consumer_id"] == consumer_id
    assert _consumer(live, consumer_id).openid == simulated_openid(live.settings.appid, "dave")


def test_invalid_and_reused_codes_are_400(live):
    for code in ("not-a-wechat-code", "sim-error:40029"):
        response = live.post("/api/v1/mp/login", json={"code": code})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WECHAT_CODE_INVALID"
        assert response.json()["error"]["message"] == "登录凭证无效或已过期，请重新登录"
    code = _code("erin")
    assert live.post("/api/v1/mp/login", json={"code": code}).status_code == 200
    assert live.post("/api/v1/mp/login", json={"code": code}).json()["error"]["code"] == "WECHAT_CODE_INVALID"


def test_wechat_rate_limit_is_429_and_outage_502(live):
    limited = live.post("/api/v1/mp/login", json={"code": "sim-error:45011"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    busy = live.post("/api/v1/mp/login", json={"code": "sim-error:-1"})
    assert busy.status_code == 502 and busy.json()["error"]["code"] == "UPSTREAM_ERROR"


def test_bad_body_is_a_validation_error(live):
    for body in ({}, {"code": ""}, {"code": 7}, {"code": "sim:x", "extra": 1}):
        response = live.post("/api/v1/mp/login", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
