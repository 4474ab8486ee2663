"""WeChat Pay v3 notifies that must not be trusted, replays, the other version's endpoint, and
platform-certificate mode — over real HTTP against the served app and the simulator."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import func, select

from server.cards.models import Card
from server.ledger.models import Journal, JournalKind, LedgerEntry
from server.payments.models import PaymentNotifyLog
from server.wechat import PaymentError
from server.wechat.adapters import get_payment_gateway, set_payment_gateway
from server.wechat.settings import PAY_V3_NOTIFY_PATH, REFUND_V3_NOTIFY_PATH
from tests.payments.support import new_card, order_row, place_top_up, wait_order_status
from wechat_simulator import SIMULATOR_APIV3_KEY
from wechat_simulator.pay_v3 import V3Keys

pytestmark = pytest.mark.pay_versions("v3")


def _balance(live, card_id: int) -> int:
    return live.query(lambda s: s.get(Card, card_id).balance_fen)


def _top_up_journals(live, card_id: int) -> int:
    return live.query(lambda s: s.scalar(
        select(func.count(func.distinct(Journal.id))).join(Journal.entries)
        .where(Journal.kind == JournalKind.TOP_UP, LedgerEntry.card_id == card_id)
    ))


def _outcomes(live, kind: str = "pay") -> list[tuple[str, str | None, str | None]]:
    return live.query(lambda s: [(row.outcome, row.reference, row.detail.get("reason")) for row in s.scalars(
        select(PaymentNotifyLog).where(PaymentNotifyLog.kind == kind).order_by(PaymentNotifyLog.id))])


@pytest.fixture
def unpaid(live, seller):
    """A 100-yuan top-up the consumer paid at WeChat whose notify was lost: (card_id, out_trade_no, fields)."""
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 10000)
    paid = live.simulate_pay(out_trade_no, notify=False)
    fields = {"out_trade_no": out_trade_no, "total_fee": "10000", "transaction_id": paid["transaction_id"],
              "attach": str(order_row(live, out_trade_no).id)}
    return card_id, out_trade_no, fields


def _resource(live, fields: dict) -> dict:
    """The decrypted resource ``live.payment_notify`` would send for ``fields``."""
    settings = live.settings
    return {"appid": settings.appid, "mchid": settings.mch_id, "out_trade_no": fields["out_trade_no"],
            "transaction_id": fields["transaction_id"], "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "attach": fields["attach"], "success_time": "2026-11-23T10:15:00+08:00", "payer": {"openid": "oTest"},
            "amount": {"total": 10000, "payer_total": 10000, "currency": "CNY"}}


def _forgeries(live, fields: dict) -> list[tuple[str, tuple[bytes, dict]]]:
    good_body, good_headers = live.payment_notify(**fields)
    resource = _resource(live, fields)
    stranger = V3Keys()  # somebody else's key pair, claiming WeChat's serial
    forged = {**good_headers, **stranger.headers(good_body.decode(), live.sim_v3.keys.public_key_id)}
    tampered = good_body.decode().replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" ').encode()
    now = int(time.time())
    return [
        ("signature or resource invalid", (tampered, good_headers)),
        ("signature or resource invalid", (good_body, forged)),
        ("signature or resource invalid", live.v3_notify("TRANSACTION.SUCCESS", resource, "transaction",
                                                         apiv3_key="SomebodyElsesApiV3Key0123456789a")),
        ("unknown Wechatpay-Serial", (good_body, {**good_headers, "Wechatpay-Serial": "PUB_KEY_ID_0123456789"})),
        ("missing signature headers", (good_body, {"Content-Type": "application/json"})),
        ("unsupported signature type", (good_body, {**good_headers, "Wechatpay-Signature-Type": "SM2"})),
        ("timestamp more than 5 minutes off", live.v3_notify("TRANSACTION.SUCCESS", resource, "transaction",
                                                             timestamp=now - 360)),
        ("timestamp more than 5 minutes off", live.v3_notify("TRANSACTION.SUCCESS", resource, "transaction",
                                                             timestamp=now + 360)),
        ("appid is not ours", live.payment_notify(**fields, appid="wxsomebodyelse0000")),
        ("mch_id is not ours", live.payment_notify(**fields, mch_id="1999999999")),
        ("total_fee differs from the order amount", live.payment_notify(**{**fields, "total_fee": "1"})),
        ("attach does not name this order", live.payment_notify(**{**fields, "attach": "999999"})),
        ("unknown order", live.payment_notify(**{**fields, "out_trade_no": "T20261123000000unknownorder00001"})),
        ("result_code is PAYERROR", live.payment_notify(**fields, result_code="FAIL")),
        ("unexpected event_type", live.v3_notify("REFUND.SUCCESS", resource, "transaction")),
        ("empty body", (b"", good_headers)),
        ("body is not a v3 notify", (b"\x00\xff garbage", good_headers)),
    ]


def test_untrustworthy_v3_notifies_get_4xx_fail_and_credit_nothing(live, unpaid):
    card_id, out_trade_no, fields = unpaid
    cases = _forgeries(live, fields)
    for reason, (body, headers) in cases:
        response = live.post(live.notify_path, data=body, headers=headers)
        assert 400 <= response.status_code < 500, (reason, response.status_code)
        assert live.reply(response) == ("FAIL", reason), reason

    assert order_row(live, out_trade_no).status == "pending"
    assert _balance(live, card_id) == 0 and _top_up_journals(live, card_id) == 0
    logged = _outcomes(live)
    assert [outcome for outcome, _, _ in logged] == ["rejected"] * len(cases)
    # Only notifies that passed the signature check name their order in the audit trail.
    assert {reference for _, reference, _ in logged} == {None, out_trade_no, "T20261123000000unknownorder00001"}

    # WeChat's genuine notify still settles it afterwards.
    requests.post(live.sim_url(f"/pay/simulate/{out_trade_no}/notify"), timeout=10)
    wait_order_status(live, out_trade_no, "paid")
    assert _balance(live, card_id) == 10000


def test_a_replayed_notify_credits_once(live, unpaid):
    card_id, _, fields = unpaid
    body, headers = live.payment_notify(**fields)
    answers = [live.post(live.notify_path, data=body, headers=headers) for _ in range(3)]
    assert [(a.status_code, a.content) for a in answers] == [(204, b"")] * 3
    assert _balance(live, card_id) == 10000 and _top_up_journals(live, card_id) == 1
    assert [outcome for outcome, _, _ in _outcomes(live)] == ["settled", "duplicate", "duplicate"]


def test_refund_notifies_that_do_not_match_are_refused(live, unpaid):
    _, out_trade_no, fields = unpaid
    requests.post(live.sim_url(f"/pay/simulate/{out_trade_no}/notify"), timeout=10)
    wait_order_status(live, out_trade_no, "paid")
    common = {"out_trade_no": out_trade_no, "refund_id": "50000000000000000000000001", "total_fee": "10000",
              "refund_status": "SUCCESS", "success_time": "2026-11-23 10:00:00"}
    body, headers = live.refund_notify(out_refund_no="Rnope", refund_fee="1000", **common)
    stale = {**headers, **live.sim_v3.keys.headers(body.decode(), live.sim_v3.keys.public_key_id,
                                                     timestamp=int(time.time()) - 600)}
    cases = {
        "unknown refund": (body, headers),
        "timestamp more than 5 minutes off": (body, stale),
        "signature or resource invalid": (body.replace(b"refund", b"refunD", 1), headers),
        "unexpected event_type": live.payment_notify(**fields),
    }
    for reason, (data, sent) in cases.items():
        assert live.reply(live.post(live.refund_notify_path, data=data, headers=sent)) == ("FAIL", reason)
    assert [outcome for outcome, _, _ in _outcomes(live, "refund")] == ["rejected"] * len(cases)


@pytest.mark.pay_versions("v2")
def test_a_v3_notify_while_v2_is_configured_is_refused(live, seller):
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 10000)
    paid = live.simulate_pay(out_trade_no, notify=False)
    settings = live.settings
    resource = {"appid": settings.appid, "mchid": settings.mch_id, "out_trade_no": out_trade_no,
                "transaction_id": paid["transaction_id"], "trade_state": "SUCCESS",
                "success_time": "2026-11-23T10:15:00+08:00", "amount": {"total": 10000}}
    body, headers = live.v3_notify("TRANSACTION.SUCCESS", resource, "transaction", apiv3_key=SIMULATOR_APIV3_KEY)
    for path in (PAY_V3_NOTIFY_PATH, REFUND_V3_NOTIFY_PATH):
        response = live.post(path, data=body, headers=headers)
        assert response.status_code == 400 and response.headers["Content-Type"] == "application/json"
        assert response.json() == {"code": "FAIL", "message": "WeChat Pay v3 is not configured"}
    assert [outcome for outcome, _, _ in _outcomes(live) + _outcomes(live, "refund")] == ["rejected"] * 2
    assert order_row(live, out_trade_no).status == "pending" and _balance(live, card_id) == 0


def test_a_v2_notify_while_v3_is_configured_is_refused(live, unpaid):
    card_id, out_trade_no, fields = unpaid
    body = live.signed_notify(**fields, cash_fee="10000")
    response = live.post("/api/v1/wechat/pay/notify", data=body)
    assert response.status_code == 200 and b"<return_code><![CDATA[FAIL]]>" in response.content
    assert b"WeChat Pay v2 is not configured" in response.content
    assert order_row(live, out_trade_no).status == "pending" and _balance(live, card_id) == 0


def test_platform_certificate_mode_downloads_the_certificates_and_verifies_with_them(live, seller):
    """Without a WeChat Pay public key, wechatpayv3 fetches /v3/certificates (through our base URL)."""
    live.app.config.update(WECHAT_PAY_PUBLIC_KEY_PATH=None, WECHAT_PAY_PUBLIC_KEY_ID=None)
    set_payment_gateway(live.app, None)
    with live.app.app_context():
        gateway = get_payment_gateway()
        assert gateway._pay._core._gate_way == live.sim_url("/pay")
        certificates = gateway._pay._core._certificates
        assert [format(c.serial_number, "X") for c in certificates] == [live.sim_v3.keys.cert_serial]

    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 2500)
    live.simulate_pay(out_trade_no)
    wait_order_status(live, out_trade_no, "paid")
    assert _balance(live, card_id) == 2500
    # A notify under an unknown serial is refused without sending wechatpayv3 off to download again.
    body, headers = live.payment_notify(out_trade_no=out_trade_no, total_fee="2500", transaction_id="x")
    assert live.reply(live.post(live.notify_path, data=body, headers=headers)) == ("FAIL", "unknown Wechatpay-Serial")


def test_query_close_and_refund_go_to_the_simulator_signed(live, seller):
    """Every call is signed by wechatpayv3 and its answer verified: a wrong merchant key is refused."""
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 1000)
    with live.app.app_context():
        gateway = get_payment_gateway()
        assert gateway.query_order(out_trade_no).trade_state == "NOTPAY"
        gateway.close_order(out_trade_no)
        gateway.close_order(out_trade_no)  # closing twice is fine
        assert gateway.query_order(out_trade_no).trade_state == "CLOSED"
    live.app.config["WECHAT_PAY_MCH_CERT_SERIAL_NO"] = "0123456789ABCDEF"  # not the merchant certificate's
    set_payment_gateway(live.app, None)
    with live.app.app_context(), pytest.raises(PaymentError) as refused:
        get_payment_gateway().query_order(out_trade_no)
    assert refused.value.err_code == "SIGN_ERROR"
    assert json.loads(live.app.extensions["kabao_redis"].get(f"wxsim:order:{out_trade_no}"))["trade_state"] == "CLOSED"


def test_the_simulator_refuses_unsigned_and_forged_requests(live):
    """What WeChat does with a request that wechatpayv3 did not sign with the merchant key."""
    url = live.sim_url("/pay/v3/pay/transactions/jsapi")
    body = json.dumps({"appid": live.settings.appid, "mchid": live.settings.mch_id, "description": "x",
                       "out_trade_no": "T1234567890", "notify_url": live.url(live.notify_path),
                       "amount": {"total": 1}, "payer": {"openid": "oTest"}})
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "SIGN_ERROR")
    stamp = str(int(time.time()))
    forged = V3Keys().sign(f"POST\n/v3/pay/transactions/jsapi\n{stamp}\nnonce\n{body}\n")
    authorization = (f'WECHATPAY2-SHA256-RSA2048 mchid="{live.settings.mch_id}",nonce_str="nonce",'
                     f'signature="{forged}",timestamp="{stamp}",serial_no="{live.settings.mch_cert_serial_no}"')
    refused = requests.post(url, data=body, timeout=10,
                            headers={"Content-Type": "application/json", "Authorization": authorization})
    assert (refused.status_code, refused.json()) == (401, {"code": "SIGN_ERROR", "message": "签名错误"})
