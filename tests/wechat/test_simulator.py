"""The simulator's own behaviour: WeChat-like refusals, login codes, the pay action and the sheet."""

from __future__ import annotations

import threading
import uuid

import fakeredis
import pytest
import requests
from flask import Flask

from server.wechat import WeChatSettings
from wechat_simulator import (
    SIMULATOR_CREDENTIALS,
    URL_PREFIX,
    create_simulator_blueprint,
    simulator_config,
)
from wechat_simulator.identities import forced_errcode, parse_login_code, simulated_openid
from wechat_simulator.signing import parse_xml, sign, to_xml


def _settings() -> WeChatSettings:
    return WeChatSettings(appid="wx1", secret="s", mch_id="1", pay_key="k")


def test_refused_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError):
        create_simulator_blueprint(_settings, fakeredis.FakeRedis)
    monkeypatch.delenv("APP_ENV")
    app = Flask("prod")
    app.config["APP_ENV"] = "production"
    with pytest.raises(RuntimeError):
        app.register_blueprint(
            create_simulator_blueprint(_settings, fakeredis.FakeRedis), url_prefix=URL_PREFIX
        )


def test_simulator_config_points_both_base_urls_at_the_mount():
    overrides = simulator_config("http://127.0.0.1:5000/", {"WECHAT_APPID": "wxmine"})
    assert overrides["WECHAT_API_BASE_URL"] == "http://127.0.0.1:5000/wechat-sim/api/"
    assert overrides["WECHAT_PAY_BASE_URL"] == "http://127.0.0.1:5000/wechat-sim/pay/"
    assert "WECHAT_APPID" not in overrides
    assert overrides["WECHAT_PAY_KEY"] == SIMULATOR_CREDENTIALS["WECHAT_PAY_KEY"]
    assert len(SIMULATOR_CREDENTIALS["WECHAT_PAY_KEY"]) == 32


def test_login_code_format():
    assert parse_login_code("sim:alice").name == "alice"
    assert not parse_login_code("sim:alice").with_unionid
    assert parse_login_code("sim:alice:union").with_unionid
    assert parse_login_code("sim:alice:union:n1").with_unionid
    assert parse_login_code("sim:alice:n1").name == "alice"
    for bad in ("alice", "sim:", "sim:a b", "sim:alice:union:n1:x", "sim:alice:", "wx:alice"):
        assert parse_login_code(bad) is None, bad
    assert forced_errcode("sim-error:45011") == 45011
    assert forced_errcode("sim-error:-1") == -1
    assert forced_errcode("sim:alice") is None
    assert simulated_openid("wx1", "alice") != simulated_openid("wx2", "alice")
    assert len(simulated_openid("wx1", "alice")) == 28


def test_token_endpoint_checks_credentials(sim, settings):
    url = sim.url("/api/cgi-bin/token")
    base = {"grant_type": "client_credential", "appid": settings.appid, "secret": settings.secret}
    assert "access_token" in requests.get(url, params=base, timeout=5).json()
    assert requests.get(url, params={**base, "secret": "nope"}, timeout=5).json()["errcode"] == 40125
    assert requests.get(url, params={**base, "appid": "wxnope"}, timeout=5).json()["errcode"] == 40013


def test_api_calls_need_a_valid_token(sim):
    url = sim.url("/api/cgi-bin/message/subscribe/send")
    body = {"touser": "o1", "template_id": "t", "data": {"thing1": {"value": "x"}}}
    assert requests.post(url, json=body, timeout=5).json()["errcode"] == 41001
    bad = requests.post(url, params={"access_token": "forged"}, json=body, timeout=5).json()
    assert bad["errcode"] == 40001


def test_messages_can_be_cleared(sim):
    assert requests.delete(sim.url("/api/_messages"), timeout=5).json() == {"items": []}
    assert requests.get(sim.url("/api/_messages"), timeout=5).json() == {"items": []}


def _pay_post(sim, path: str, fields: dict, key: str) -> dict:
    body = to_xml({**fields, "sign": sign(fields, key)})
    return parse_xml(requests.post(sim.url(path), data=body.encode(), timeout=5).content)


def test_pay_api_refuses_garbage_and_bad_signatures(sim, settings):
    url = sim.url("/pay/pay/orderquery")
    garbage = parse_xml(requests.post(url, data=b"not xml", timeout=5).content)
    assert garbage == {"return_code": "FAIL", "return_msg": "XML格式错误"}
    fields = {"appid": settings.appid, "mch_id": settings.mch_id, "nonce_str": "n", "out_trade_no": "T1"}
    assert _pay_post(sim, "/pay/pay/orderquery", fields, "wrong")["return_msg"] == "签名错误"
    other = {**fields, "mch_id": "1999999999"}
    mismatch = _pay_post(sim, "/pay/pay/orderquery", other, settings.pay_key)
    assert mismatch["return_msg"] == "appid和mch_id不匹配"
    answer = _pay_post(sim, "/pay/pay/orderquery", fields, settings.pay_key)
    assert (answer["return_code"], answer["result_code"]) == ("SUCCESS", "FAIL")
    assert answer["err_code"] == "ORDERNOTEXIST"
    assert answer["sign"] == sign(answer, settings.pay_key)


def test_unifiedorder_validates_like_wechat(sim, settings):
    fields = {
        "appid": settings.appid,
        "mch_id": settings.mch_id,
        "nonce_str": "n",
        "body": "b",
        "out_trade_no": "T" + uuid.uuid4().hex[:10],
        "total_fee": "100",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": sim.pay_notify_url + "?x=1",
        "trade_type": "JSAPI",
        "openid": "o1",
    }
    answer = _pay_post(sim, "/pay/pay/unifiedorder", fields, settings.pay_key)
    assert answer["err_code"] == "PARAM_ERROR" and "notify_url" in answer["err_code_des"]
    no_openid = {**fields, "notify_url": sim.pay_notify_url, "openid": ""}
    assert "openid" in _pay_post(sim, "/pay/pay/unifiedorder", no_openid, settings.pay_key)["err_code_des"]
    expired = {**fields, "notify_url": sim.pay_notify_url, "time_expire": "20200101000000"}
    assert "time_expire" in _pay_post(sim, "/pay/pay/unifiedorder", expired, settings.pay_key)["err_code_des"]
    missing = {k: v for k, v in fields.items() if k != "spbill_create_ip"}
    assert _pay_post(sim, "/pay/pay/unifiedorder", missing, settings.pay_key)["return_code"] == "FAIL"


def test_pay_action_refusals(sim, place_order):
    assert sim.simulate_pay("Tunknown").status_code == 404
    out_trade_no, _ = place_order()
    assert sim.simulate_pay(out_trade_no, notify=False).status_code == 200
    again = sim.simulate_pay(out_trade_no, notify=False)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ORDERPAID"


def test_concurrent_pay_actions_pay_once(sim, place_order):
    out_trade_no, _ = place_order()
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def pay() -> None:
        barrier.wait()
        statuses.append(sim.simulate_pay(out_trade_no, notify=False).status_code)

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200] + [409] * 9


def test_payment_sheet(sim, place_order):
    out_trade_no, _ = place_order(amount_fen=1990)
    page = requests.get(sim.url(f"/pay/sheet/{out_trade_no}"), timeout=5)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "确认支付" in page.text and "19.90" in page.text and "卡包-储值卡充值" in page.text
    assert f"{URL_PREFIX}/pay/simulate/{out_trade_no}" in page.text
    assert requests.get(sim.url("/pay/sheet/Tunknown"), timeout=5).status_code == 404
