"""WeChat Pay v2 gateway through wechatpy against the simulator, notifies over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import secrets
import time
import uuid

import pytest
import requests
import xmltodict

from server.timeutil import SHANGHAI
from server.wechat import (
    InvalidNotify,
    OrderAlreadyPaid,
    OrderNotExist,
    PayConfigurationError,
    PaymentError,
    WeChatPayV2Gateway,
    new_out_trade_no,
)
from wechat_simulator.signing import encrypt_req_info, signed_xml, to_xml

PAY_KEY = "TestPayKey0123456789abcdefghijkl"  # the app's WECHAT_PAY_KEY in conftest


def _order_kwargs(sim, **overrides):
    kwargs = {
        "out_trade_no": "T" + uuid.uuid4().hex[:20],
        "amount_fen": 500,
        "description": "测试订单",
        "openid": "o" + uuid.uuid4().hex[:27],
        "client_ip": "127.0.0.1",
        "notify_url": sim.pay_notify_url,
        "attach": "order:9",
        "expire_at": dt.datetime.now(SHANGHAI) + dt.timedelta(minutes=30),
    }
    kwargs.update(overrides)
    return kwargs


def _notifies(sim, ref: str) -> list[dict]:
    return requests.get(sim.url(f"/pay/_notifies/{ref}"), timeout=5).json()["items"]


# --- order creation and wx.requestPayment parameters ---


def test_create_order_and_pay_params_signed_like_wechat(place_order, gateway, settings):
    _, prepay_id = place_order()
    assert prepay_id.startswith("wx")
    params = gateway.pay_params(prepay_id)
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={prepay_id}"
    assert params["signType"] == "MD5"
    # Independent computation: appId is signed although wx.requestPayment does not take it.
    signed = (
        f"appId={settings.appid}&nonceStr={params['nonceStr']}&package={params['package']}"
        f"&signType=MD5&timeStamp={params['timeStamp']}&key={PAY_KEY}"
    )
    assert params["paySign"] == hashlib.md5(signed.encode()).hexdigest().upper()  # noqa: S324 - WeChat's


def test_same_order_again_returns_same_prepay_id_and_changed_amount_is_refused(sim, gateway):
    kwargs = _order_kwargs(sim)
    first = gateway.create_order(**kwargs)
    assert gateway.create_order(**kwargs) == first
    with pytest.raises(PaymentError) as info:
        gateway.create_order(**{**kwargs, "amount_fen": kwargs["amount_fen"] + 1})
    assert info.value.err_code == "INVALID_REQUEST"
    assert info.value.status == 502


def test_wrong_api_key_is_refused_by_the_simulator(sim, settings):
    wrong = WeChatPayV2Gateway(dataclasses.replace(settings, pay_key="x" * 32))
    with pytest.raises(PaymentError) as info:
        wrong.create_order(**_order_kwargs(sim))
    assert "签名错误" in info.value.reason


@pytest.mark.parametrize(
    "overrides",
    [
        {"out_trade_no": "has-dash"},
        {"out_trade_no": "x" * 33},
        {"amount_fen": 0},
        {"amount_fen": 1.5},
        {"client_ip": ""},
        {"expire_at": dt.datetime.now() + dt.timedelta(minutes=30)},
        {"attach": "a" * 128},
    ],
)
def test_create_order_rejects_bad_input_before_calling_wechat(sim, gateway, overrides):
    with pytest.raises(ValueError):
        gateway.create_order(**_order_kwargs(sim, **overrides))


def test_long_description_is_truncated_to_wechat_limit(sim, gateway):
    out_trade_no = new_out_trade_no("D")
    gateway.create_order(**_order_kwargs(sim, out_trade_no=out_trade_no, description="储值卡" * 50))
    body = json.loads(sim.redis.get(f"wxsim:order:{out_trade_no}"))["body"]
    assert body.startswith("储值卡") and 120 < len(body.encode()) <= 128


def test_new_out_trade_no():
    numbers = {new_out_trade_no("TU") for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert len(number) == 32 and number.isalnum() and number.isascii() and number.startswith("TU")
    for bad in ("with-dash", "toolongprefix", "中文"):
        with pytest.raises(ValueError):
            new_out_trade_no(bad)


# --- payment notify ---


def test_paying_delivers_a_notify_the_gateway_accepts(sim, place_order, settings):
    out_trade_no, _ = place_order(amount_fen=1234, openid="oPayer000000000000000000000a", attach="topup:42")
    response = sim.simulate_pay(out_trade_no)
    assert response.status_code == 200
    notice = sim.receiver.wait(sim.receiver.payments, out_trade_no)
    assert notice.paid
    assert notice.out_trade_no == out_trade_no
    assert notice.transaction_id == response.json()["transaction_id"]
    assert notice.total_fee == 1234
    assert notice.attach == "topup:42"
    assert notice.openid == "oPayer000000000000000000000a"
    assert (notice.appid, notice.mch_id) == (settings.appid, settings.mch_id)
    assert notice.time_end.utcoffset() == dt.timedelta(hours=8)
    assert abs(notice.time_end - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    # The receiver has the notify before the simulator records how the delivery went: wait for the record.
    deadline = time.monotonic() + 5
    while not (attempts := _notifies(sim, out_trade_no)) and time.monotonic() < deadline:
        time.sleep(0.02)
    [attempt] = attempts
    assert attempt["ok"] and attempt["return_code"] == "SUCCESS"


def test_notify_is_retried_until_acknowledged(sim, place_order):
    out_trade_no, _ = place_order()
    sim.receiver.fail_first(out_trade_no, "500", "FAIL")
    sim.simulate_pay(out_trade_no)
    sim.receiver.wait(sim.receiver.payments, out_trade_no)
    deadline = time.monotonic() + 5
    while len(attempts := _notifies(sim, out_trade_no)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(a["status"], a["ok"]) for a in attempts] == [(500, False), (200, False), (200, True)]
    assert attempts[1]["return_code"] == "FAIL"


def test_notify_can_be_delivered_again(sim, place_order):
    out_trade_no, _ = place_order()
    assert requests.post(sim.url(f"/pay/simulate/{out_trade_no}/notify"), timeout=5).status_code == 409
    sim.simulate_pay(out_trade_no)
    first = sim.receiver.wait(sim.receiver.payments, out_trade_no)
    assert requests.post(sim.url(f"/pay/simulate/{out_trade_no}/notify"), timeout=5).status_code == 200
    deadline = time.monotonic() + 5
    while len(sim.receiver.payments[out_trade_no]) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.receiver.payments[out_trade_no] == [first, first]


def test_transaction_ids_are_unique(sim, place_order):
    ids = set()
    for _ in range(5):
        out_trade_no, _ = place_order()
        ids.add(sim.simulate_pay(out_trade_no, notify=False).json()["transaction_id"])
    assert len(ids) == 5


def _notify_fields(settings, **overrides) -> dict:
    fields = {
        "return_code": "SUCCESS",
        "appid": settings.appid,
        "mch_id": settings.mch_id,
        "nonce_str": secrets.token_hex(8),
        "result_code": "SUCCESS",
        "openid": "oForged00000000000000000000a",
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": "100",
        "cash_fee": "100",
        "transaction_id": "4200000000202611230000000001",
        "out_trade_no": "T123",
        "time_end": "20261123101500",
    }
    fields.update(overrides)
    return fields


def test_forged_notifies_are_rejected(gateway, settings):
    valid = signed_xml(_notify_fields(settings), PAY_KEY)
    assert gateway.parse_payment_notify(valid.encode()).total_fee == 100

    tampered = valid.replace("<total_fee><![CDATA[100]]>", "<total_fee><![CDATA[1]]>")
    unsigned = to_xml(_notify_fields(settings))
    other_key = signed_xml(_notify_fields(settings), "y" * 32)
    wrong_appid = signed_xml(_notify_fields(settings, appid="wxsomeoneelse00000"), PAY_KEY)
    wrong_mch = signed_xml(_notify_fields(settings, mch_id="1999999999"), PAY_KEY)
    hmac_signed = signed_xml(_notify_fields(settings, sign_type="HMAC-SHA256"), PAY_KEY, "HMAC-SHA256")
    cases = {
        tampered.encode(): "bad signature",
        unsigned.encode(): "missing signature",
        other_key.encode(): "bad signature",
        wrong_appid.encode(): "appid is not ours",
        wrong_mch.encode(): "mch_id is not ours",
        hmac_signed.encode(): "unsupported sign_type",
        b"": "empty body",
        b"   \n": "empty body",
        b"this is not xml": "body is not XML",
        b"<xml><total_fee>1</total_fee>": "body is not XML",
        b"<html><body>hi</body></html>": "root element is not <xml>",
        b"<xml><a><b>1</b></a></xml>": "unexpected structure in <xml>",
        b"<xml><sign>1</sign><sign>2</sign></xml>": "unexpected structure in <xml>",
        b"<xml>" + b"<f>1</f>" * 20000 + b"</xml>": "body too large",
    }
    for body, reason in cases.items():
        with pytest.raises(InvalidNotify) as info:
            gateway.parse_payment_notify(body)
        assert info.value.reason == reason, body[:60]


def test_signed_notify_with_missing_or_malformed_fields_is_rejected(gateway, settings):
    for overrides, reason in [
        ({"transaction_id": ""}, "missing transaction_id"),
        ({"total_fee": "1.00"}, "total_fee is not an integer"),
        ({"time_end": "yesterday"}, "malformed time"),
        ({"return_code": "FAIL"}, "return_code is not SUCCESS"),
    ]:
        with pytest.raises(InvalidNotify) as info:
            gateway.parse_payment_notify(signed_xml(_notify_fields(settings, **overrides), PAY_KEY).encode())
        assert info.value.reason == reason


def test_result_code_fail_notify_parses_as_not_paid(gateway, settings):
    fields = _notify_fields(
        settings, result_code="FAIL", err_code="NOTENOUGH", transaction_id="", time_end=""
    )
    notice = gateway.parse_payment_notify(signed_xml(fields, PAY_KEY).encode())
    assert not notice.paid
    assert notice.transaction_id is None


def test_replies(gateway):
    success = xmltodict.parse(gateway.reply_success())["xml"]
    assert success == {"return_code": "SUCCESS", "return_msg": "OK"}
    fail = xmltodict.parse(gateway.reply_fail("签名错误]]><x>"))["xml"]
    assert fail["return_code"] == "FAIL" and fail["return_msg"].startswith("签名错误")


def test_api_key_never_reaches_the_logs(sim, place_order, gateway, settings, caplog):
    caplog.set_level(logging.DEBUG)
    out_trade_no, prepay_id = place_order()
    gateway.pay_params(prepay_id)
    gateway.query_order(out_trade_no)
    gateway.parse_payment_notify(signed_xml(_notify_fields(settings), PAY_KEY).encode())
    assert PAY_KEY not in caplog.text


# --- order query and close (the reconciliation path) ---


def test_query_notpay_then_lost_notify_settled_through_query(sim, place_order, gateway):
    out_trade_no, _ = place_order(amount_fen=777, attach="topup:7")
    result = gateway.query_order(out_trade_no)
    assert result.trade_state == "NOTPAY" and not result.paid
    with pytest.raises(ValueError):
        result.to_notice()

    paid = sim.simulate_pay(out_trade_no, notify=False).json()
    result = gateway.query_order(out_trade_no)
    assert result.paid and result.transaction_id == paid["transaction_id"]
    notice = result.to_notice()
    assert (notice.out_trade_no, notice.total_fee, notice.attach) == (out_trade_no, 777, "topup:7")
    assert notice.paid and notice.time_end.utcoffset() == dt.timedelta(hours=8)
    assert _notifies(sim, out_trade_no) == []


def test_query_unknown_order(gateway):
    with pytest.raises(OrderNotExist) as info:
        gateway.query_order(new_out_trade_no("X"))
    assert info.value.err_code == "ORDERNOTEXIST"


def test_close_order(sim, place_order, gateway):
    out_trade_no, _ = place_order()
    gateway.close_order(out_trade_no)
    assert gateway.query_order(out_trade_no).trade_state == "CLOSED"
    gateway.close_order(out_trade_no)  # idempotent
    assert sim.simulate_pay(out_trade_no).status_code == 409


def test_close_paid_order_raises_already_paid(sim, place_order, gateway):
    out_trade_no, _ = place_order()
    sim.simulate_pay(out_trade_no, notify=False)
    with pytest.raises(OrderAlreadyPaid):
        gateway.close_order(out_trade_no)


def test_close_unknown_order(gateway):
    with pytest.raises(OrderNotExist):
        gateway.close_order(new_out_trade_no("X"))


# --- refunds ---


def test_refund_and_refund_notify(sim, place_order, refund_gateway):
    out_trade_no, _ = place_order(amount_fen=1000)
    transaction_id = sim.simulate_pay(out_trade_no, notify=False).json()["transaction_id"]
    out_refund_no = new_out_trade_no("R")
    refund = refund_gateway.refund(
        out_trade_no=out_trade_no,
        out_refund_no=out_refund_no,
        total_fen=1000,
        refund_fen=600,
        notify_url=sim.refund_notify_url,
        reason="用户申请退卡",
    )
    assert (refund.out_refund_no, refund.refund_fee, refund.total_fee) == (out_refund_no, 600, 1000)
    assert refund.transaction_id == transaction_id and refund.refund_id

    notice = sim.receiver.wait(sim.receiver.refunds, out_refund_no)
    assert notice.succeeded
    assert (notice.out_trade_no, notice.refund_id, notice.refund_fee, notice.total_fee) == (
        out_trade_no,
        refund.refund_id,
        600,
        1000,
    )
    assert notice.transaction_id == transaction_id
    assert notice.success_time.utcoffset() == dt.timedelta(hours=8)
    assert refund_gateway.query_order(out_trade_no).trade_state == "REFUND"

    # The same refund number again does not refund twice (and sends no second notify).
    again = refund_gateway.refund(
        out_trade_no=out_trade_no,
        out_refund_no=out_refund_no,
        total_fen=1000,
        refund_fen=600,
        notify_url=sim.refund_notify_url,
        reason="重试",
    )
    assert again.refund_id == refund.refund_id
    # More than what is left is refused.
    with pytest.raises(PaymentError) as info:
        refund_gateway.refund(
            out_trade_no=out_trade_no,
            out_refund_no=new_out_trade_no("R"),
            total_fen=1000,
            refund_fen=500,
            notify_url=sim.refund_notify_url,
            reason="超额",
        )
    assert info.value.err_code == "NOTENOUGH"
    time.sleep(0.2)
    assert len(_notifies(sim, out_refund_no)) == 1


def test_refund_query_tells_processing_from_settled_like_the_notify(sim, place_order, refund_gateway):
    out_trade_no, _ = place_order(amount_fen=1000)
    sim.simulate_pay(out_trade_no, notify=False)
    processing, settled = new_out_trade_no("R"), new_out_trade_no("R")
    for out_refund_no, notify_url in ((processing, ""), (settled, sim.refund_notify_url)):  # "": WeChat never finishes
        refund_gateway.refund(out_trade_no=out_trade_no, out_refund_no=out_refund_no, total_fen=1000,
                              refund_fen=300, notify_url=notify_url, reason="")

    still = refund_gateway.query_refund(processing)
    assert (still.refund_status, still.succeeded, still.success_time) == ("PROCESSING", False, None)
    notice = sim.receiver.wait(sim.receiver.refunds, settled)
    assert refund_gateway.query_refund(settled) == notice  # what the notify said, field for field

    with pytest.raises(PaymentError) as info:
        refund_gateway.query_refund(new_out_trade_no("R"))
    assert info.value.err_code == "REFUNDNOTEXIST"


def test_refund_of_unpaid_order_is_refused(place_order, refund_gateway, sim):
    out_trade_no, _ = place_order()
    with pytest.raises(PaymentError) as info:
        refund_gateway.refund(
            out_trade_no=out_trade_no,
            out_refund_no=new_out_trade_no("R"),
            total_fen=1000,
            refund_fen=1,
            notify_url=sim.refund_notify_url,
            reason="",
        )
    assert info.value.err_code == "TRADE_STATE_ERROR"


def test_refund_needs_the_merchant_certificate(sim, gateway, settings, tmp_path):
    with pytest.raises(PayConfigurationError) as info:
        gateway.refund(
            out_trade_no="T1",
            out_refund_no="R1",
            total_fen=1,
            refund_fen=1,
            notify_url=sim.refund_notify_url,
            reason="",
        )
    assert "WECHAT_PAY_CERT_PATH" in str(info.value)
    assert info.value.status == 503
    missing = dataclasses.replace(
        settings, pay_cert_path=str(tmp_path / "nope.pem"), pay_key_path=str(tmp_path / "nope.key")
    )
    with pytest.raises(PayConfigurationError, match="does not point to a file"):
        WeChatPayV2Gateway(missing)
    with pytest.raises(PayConfigurationError, match="together"):
        WeChatPayV2Gateway(dataclasses.replace(settings, pay_cert_path=str(tmp_path / "x.pem")))


def _refund_notify(settings, req_info: str, **overrides) -> bytes:
    fields = {
        "return_code": "SUCCESS",
        "appid": settings.appid,
        "mch_id": settings.mch_id,
        "nonce_str": secrets.token_hex(8),
        "req_info": req_info,
    }
    fields.update(overrides)
    return to_xml(fields).encode()


def test_refund_notify_rejects_forgeries(gateway, settings):
    inner = {
        "out_refund_no": "R1",
        "out_trade_no": "T1",
        "refund_id": "50000000000000000000000001",
        "transaction_id": "4200000000000000000000000001",
        "total_fee": "100",
        "refund_fee": "100",
        "refund_status": "SUCCESS",
        "success_time": "2026-11-23 10:00:00",
    }
    good = encrypt_req_info(inner, PAY_KEY)
    assert gateway.parse_refund_notify(_refund_notify(settings, good)).refund_fee == 100
    cases = {
        _refund_notify(settings, encrypt_req_info(inner, "z" * 32)): "req_info cannot be decrypted",
        _refund_notify(settings, "bm90IGVuY3J5cHRlZA=="): "req_info cannot be decrypted",
        _refund_notify(settings, good, appid="wxsomeoneelse00000"): "appid is not ours",
        _refund_notify(settings, good, mch_id="1999999999"): "mch_id is not ours",
        _refund_notify(settings, good, return_code="FAIL"): "return_code is not SUCCESS",
        _refund_notify(settings, ""): "missing req_info",
        _refund_notify(settings, encrypt_req_info({**inner, "refund_fee": "x"}, PAY_KEY)): (
            "refund_fee is not an integer"
        ),
        b"garbage": "body is not XML",
        b"": "empty body",
    }
    for body, reason in cases.items():
        with pytest.raises(InvalidNotify) as info:
            gateway.parse_refund_notify(body)
        assert info.value.reason == reason, body[:80]
