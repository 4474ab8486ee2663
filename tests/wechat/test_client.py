"""Login and subscribe messages through wechatpy against the simulator."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
import uuid

import pytest
import requests

from server.wechat import (
    SubscribeMessageError,
    WeChatCodeInvalid,
    WeChatRateLimited,
    WeChatSettings,
    WeChatUpstreamError,
    code_to_session,
    make_wechat_client,
    send_subscribe_message,
)
from wechat_simulator import simulated_openid, simulated_unionid

APPID = "wx0123456789abcdef"  # the app's WECHAT_APPID in conftest


def _code(name: str, *flags: str) -> str:
    return ":".join(["sim", name, *flags, uuid.uuid4().hex[:8]])


def _token_key() -> str:
    return f"wechat:{APPID}_access_token"


def test_settings_from_config_defaults_and_normalises():
    settings = WeChatSettings.from_config(
        {
            "WECHAT_APPID": "wx1",
            "WECHAT_SECRET": "s3cret",
            "WECHAT_PAY_KEY": "k3y",
            "WECHAT_API_BASE_URL": "http://x/api",
        }
    )
    assert settings.api_base_url == "http://x/api/"
    assert settings.pay_base_url == "https://api.mch.weixin.qq.com/"
    assert settings.timeout == 10
    assert settings.pay_cert_path is None
    assert "s3cret" not in repr(settings) and "k3y" not in repr(settings)


def test_token_is_fetched_from_the_simulator_and_cached_in_redis(sim, settings):
    sim.redis.delete(_token_key())
    client = make_wechat_client(settings, sim.redis)
    client_base, wxa_base = client.API_BASE_URL, client.wxa.API_BASE_URL
    assert client_base == settings.api_base_url + "cgi-bin/"
    assert wxa_base == settings.api_base_url
    token = client.access_token
    # The simulator issued it (so the request did not go to api.weixin.qq.com) and Redis holds it.
    assert sim.redis.get(f"wxsim:token:{token}") == APPID.encode()
    assert 0 < sim.redis.ttl(_token_key()) <= 7200
    issued = len(list(sim.redis.scan_iter("wxsim:token:*")))
    # Another client (another worker) reuses the cached token instead of fetching one.
    assert make_wechat_client(settings, sim.redis).access_token == token
    assert len(list(sim.redis.scan_iter("wxsim:token:*"))) == issued


def test_code_to_session_new_user(sim, settings):
    session = code_to_session(make_wechat_client(settings, sim.redis), _code("alice"))
    assert session.openid == simulated_openid(APPID, "alice")
    assert session.unionid is None
    assert session.session_key
    assert session.session_key not in repr(session)


def test_code_to_session_with_unionid_and_returning_user(sim, settings):
    client = make_wechat_client(settings, sim.redis)
    first = code_to_session(client, _code("bob", "union"))
    again = code_to_session(client, _code("bob", "union"))
    assert first.unionid == again.unionid == simulated_unionid("bob")
    assert first.openid == again.openid == simulated_openid(APPID, "bob")
    assert first.session_key != again.session_key


def test_reused_code_is_invalid(sim, settings):
    client = make_wechat_client(settings, sim.redis)
    code = _code("carol")
    code_to_session(client, code)
    with pytest.raises(WeChatCodeInvalid) as info:
        code_to_session(client, code)
    assert info.value.status == 400
    assert info.value.code == "WECHAT_CODE_INVALID"
    assert info.value.message == "登录凭证无效或已过期，请重新登录"


@pytest.mark.parametrize("code", ["not-a-sim-code", "sim:", "sim:bad name", "sim-error:40163", "", "   "])
def test_unknown_or_used_codes_are_invalid(sim, settings, code):
    with pytest.raises(WeChatCodeInvalid):
        code_to_session(make_wechat_client(settings, sim.redis), code)


def test_rate_limit_becomes_429_with_retry_after(sim, settings):
    with pytest.raises(WeChatRateLimited) as info:
        code_to_session(make_wechat_client(settings, sim.redis), "sim-error:45011")
    assert info.value.status == 429
    assert info.value.code == "RATE_LIMITED"
    assert int(info.value.headers["Retry-After"]) > 0


def test_other_wechat_errors_become_upstream_errors(sim, settings):
    with pytest.raises(WeChatUpstreamError) as info:
        code_to_session(make_wechat_client(settings, sim.redis), "sim-error:-1")
    assert info.value.status == 502
    assert info.value.code == "UPSTREAM_ERROR"
    assert info.value.errcode == -1


def test_wrong_secret_fails_at_the_token_and_is_an_upstream_error(sim, settings):
    wrong = dataclasses.replace(settings, secret="wrong", appid=APPID)
    sim.redis.delete(_token_key())
    with pytest.raises(WeChatUpstreamError) as info:
        code_to_session(make_wechat_client(wrong, sim.redis), _code("dave"))
    assert info.value.errcode == 40125


def test_every_call_has_a_timeout(sim, settings):
    """A server that accepts but never answers must not hang a worker (wechatpy sets none on the token)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        base = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        stuck = dataclasses.replace(settings, api_base_url=base, timeout=0.5)
        sim.redis.delete(_token_key())
        started = time.monotonic()
        with pytest.raises(WeChatUpstreamError):
            code_to_session(make_wechat_client(stuck, sim.redis), _code("erin"))
        assert time.monotonic() - started < 3


def _messages(sim, openid: str) -> list[dict]:
    response = requests.get(sim.url("/api/_messages"), params={"touser": openid}, timeout=5)
    response.raise_for_status()
    return response.json()["items"]


def test_subscribe_message_is_recorded(sim, settings):
    openid = simulated_openid(APPID, "frank")
    send_subscribe_message(
        make_wechat_client(settings, sim.redis),
        openid=openid,
        template_id="tpl-topup",
        data={"thing1": "星巴克储值卡", "amount2": "¥100.00", "time3": {"value": "2026年11月23日 10:00"}},
        page="pages/cards/detail?id=1",
        state="trial",
    )
    [message] = _messages(sim, openid)
    assert message["template_id"] == "tpl-topup"
    assert message["page"] == "pages/cards/detail?id=1"
    assert message["miniprogram_state"] == "trial"
    assert message["data"] == {
        "thing1": {"value": "星巴克储值卡"},
        "amount2": {"value": "¥100.00"},
        "time3": {"value": "2026年11月23日 10:00"},
    }


def test_subscribe_message_failure_raises_subscribe_error(sim, settings):
    openid = simulated_openid(APPID, "grace")
    with pytest.raises(SubscribeMessageError) as info:
        send_subscribe_message(
            make_wechat_client(settings, sim.redis),
            openid=openid,
            template_id="fail-43101",
            data={"thing1": "x"},
        )
    assert info.value.errcode == 43101
    assert _messages(sim, openid) == []


def test_subscribe_message_field_too_long_is_47003(sim, settings):
    with pytest.raises(SubscribeMessageError) as info:
        send_subscribe_message(
            make_wechat_client(settings, sim.redis),
            openid=simulated_openid(APPID, "heidi"),
            template_id="tpl",
            data={"thing1": "超" * 21},
        )
    assert info.value.errcode == 47003


def test_stale_token_is_refetched_on_40001(sim, settings):
    sim.redis.set(_token_key(), '"stale-token"', ex=600)
    openid = simulated_openid(APPID, "ivan")
    send_subscribe_message(
        make_wechat_client(settings, sim.redis), openid=openid, template_id="tpl", data={"thing1": "ok"}
    )
    assert len(_messages(sim, openid)) == 1
    assert sim.redis.get(_token_key()) != b'"stale-token"'


def test_secrets_never_reach_the_logs(sim, settings, caplog):
    caplog.set_level(logging.DEBUG)
    sim.redis.delete(_token_key())
    client = make_wechat_client(settings, sim.redis)
    code = _code("judy")
    session = code_to_session(client, code)
    send_subscribe_message(client, openid=session.openid, template_id="tpl", data={"thing1": "ok"})
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "urllib3" in {r.name.split(".")[0] for r in caplog.records}  # request lines were logged
    for secret in (settings.secret, code, session.session_key, client.access_token):
        assert secret not in ours
