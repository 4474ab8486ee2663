"""The refund engine: split across a card's paid orders newest first, WeChat refund, refund notify."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import xmltodict
from sqlalchemy import select

from server.db import db
from server.errors import NotRefundable
from server.payments.models import PaymentNotifyLog, PaymentOrder, Refund, RefundAllocation
from server.payments.wechat_refunds import refund_card_payments
from server.wechat import new_out_trade_no
from server.wechat.adapters import get_payment_gateway, set_payment_gateway
from tests.payments.support import new_card, order_row, place_top_up, wait_for, wait_order_status
from wechat_simulator.signing import encrypt_req_info, to_xml

REFUND_NOTIFY = "/api/v1/wechat/refund/notify"


@pytest.fixture
def paid_card(live, seller):
    """A card with two paid top-ups: 100 yuan, then 50 yuan. Returns (consumer_id, card_id, [older, newer])."""
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    numbers = []
    for amount in (10000, 5000):
        out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, amount)
        live.simulate_pay(out_trade_no)
        wait_order_status(live, out_trade_no, "paid")
        numbers.append(out_trade_no)
    return consumer_id, card_id, numbers


def _refund(live, seller, consumer_id: int, card_id: int, amount_fen: int) -> tuple[int, list[tuple[str, int, str]]]:
    """Run refund_card_payments in a request-like transaction and commit, as issue 7's endpoint will."""
    with live.app.app_context():
        refund = Refund(merchant_id=seller.merchant_id, card_id=card_id, consumer_id=consumer_id,
                        refund_no=new_out_trade_no("RF"), refund_fen=amount_fen, reason="不想要了")
        db.session.add(refund)
        db.session.flush()
        allocations = refund_card_payments(db.session, get_payment_gateway(), refund=refund, amount_fen=amount_fen)
        result = [(db.session.get(PaymentOrder, a.payment_order_id).out_trade_no, a.amount_fen, a.out_refund_no)
                  for a in allocations]
        db.session.commit()
        refund_id = refund.id
        db.session.remove()
    return refund_id, result


def _set_certificate(live, cert: str | None, key: str | None) -> tuple[str | None, str | None]:
    """Point the app at another merchant certificate (None: none); returns the previous one."""
    config = live.app.config
    previous = config["WECHAT_PAY_CERT_PATH"], config["WECHAT_PAY_KEY_PATH"]
    config.update(WECHAT_PAY_CERT_PATH=cert, WECHAT_PAY_KEY_PATH=key)
    set_payment_gateway(live.app, None)
    return previous


def _cut_off_refunds(live) -> dict:
    """WeChat cannot be asked for refunds for now (v2: no merchant certificate; v3: WeChat unreachable).

    Returns the settings to put back with ``_restore``."""
    if live.version == "v2":
        cert, key = _set_certificate(live, None, None)
        return {"WECHAT_PAY_CERT_PATH": cert, "WECHAT_PAY_KEY_PATH": key}
    previous = {"WECHAT_PAY_BASE_URL": live.app.config["WECHAT_PAY_BASE_URL"]}
    live.app.config["WECHAT_PAY_BASE_URL"] = "http://127.0.0.1:9/"  # nobody listens
    set_payment_gateway(live.app, None)
    return previous


def _restore(live, previous: dict) -> None:
    live.app.config.update(previous)
    set_payment_gateway(live.app, None)


def _refund_row(live, refund_id: int) -> Refund:
    return live.query(lambda s: s.get(Refund, refund_id))


def _allocation(live, out_refund_no: str) -> RefundAllocation:
    return live.query(lambda s: s.scalar(
        select(RefundAllocation).where(RefundAllocation.out_refund_no == out_refund_no)
    ))


def _refund_notify(live, **inner) -> bytes:
    settings = live.settings
    return to_xml({"return_code": "SUCCESS", "appid": settings.appid, "mch_id": settings.mch_id,
                   "nonce_str": uuid.uuid4().hex, "req_info": encrypt_req_info(inner, settings.pay_key)}).encode()


def test_refund_splits_newest_first_and_notifies_settle_it(live, seller, paid_card):
    consumer_id, card_id, (older, newer) = paid_card
    refund_id, parts = _refund(live, seller, consumer_id, card_id, 12000)
    assert [(number, amount) for number, amount, _ in parts] == [(newer, 5000), (older, 7000)]
    assert order_row(live, newer).refunded_fen == 5000 and order_row(live, older).refunded_fen == 7000

    wait_for(lambda: _refund_row(live, refund_id).status == "succeeded")
    for _, amount, out_refund_no in parts:
        allocation = _allocation(live, out_refund_no)
        assert (allocation.status, allocation.amount_fen) == ("succeeded", amount) and allocation.wechat_refund_id
    assert _refund_row(live, refund_id).settled_at is not None
    assert order_row(live, newer).status == "refunded"  # all of it went back
    assert order_row(live, older).status == "paid"  # 30 yuan of it are still on the card

    # A repeated refund notify changes nothing and is answered SUCCESS.
    out_refund_no = parts[0][2]
    live.wait_acknowledged(out_refund_no)
    allocation = _allocation(live, out_refund_no)
    repeat, headers = live.refund_notify(out_refund_no=out_refund_no, out_trade_no=newer,
                                         refund_id=allocation.wechat_refund_id, total_fee="5000", refund_fee="5000",
                                         refund_status="SUCCESS", success_time="2026-11-23 10:00:00")
    assert live.reply(live.post(live.refund_notify_path, data=repeat, headers=headers))[0] == "SUCCESS"
    outcomes = live.query(lambda s: list(s.scalars(select(PaymentNotifyLog.outcome).where(
        PaymentNotifyLog.kind == "refund", PaymentNotifyLog.reference == out_refund_no).order_by(PaymentNotifyLog.id))))
    # The simulator may notify before the refund's transaction committed: that attempt is refused
    # ("unknown refund") and WeChat's retry settles it.
    assert outcomes[-2:] == ["settled", "duplicate"] and set(outcomes[:-2]) <= {"rejected"}


def test_refund_beyond_the_paid_orders_is_not_refundable(live, seller, paid_card):
    consumer_id, card_id, (older, newer) = paid_card
    with pytest.raises(NotRefundable) as info:
        _refund(live, seller, consumer_id, card_id, 15001)
    assert info.value.details == {"refundable_fen": 15000}
    assert order_row(live, older).refunded_fen == order_row(live, newer).refunded_fen == 0


def test_refund_left_pending_while_wechat_is_unreachable_is_sent_again_by_reconcile(live, seller, paid_card):
    consumer_id, card_id, (_, newer) = paid_card
    previous = _cut_off_refunds(live)  # refunds impossible for now
    refund_id, [(_, _, out_refund_no)] = _refund(live, seller, consumer_id, card_id, 3000)
    allocation = _allocation(live, out_refund_no)
    assert (allocation.status, allocation.wechat_refund_id) == ("pending", None)
    assert order_row(live, newer).refunded_fen == 3000  # reserved: the same money is never offered twice

    _restore(live, previous)
    result = live.app.test_cli_runner().invoke(args=["reconcile-payments", "--older-than", "0"])
    assert "refunds sent again 1" in result.output
    wait_for(lambda: _refund_row(live, refund_id).status == "succeeded")


class _StillProcessing:
    """The real gateway, except that WeChat reports every refund as still in progress."""

    def __init__(self, gateway):
        self._gateway = gateway

    def __getattr__(self, name):
        return getattr(self._gateway, name)

    def query_refund(self, out_refund_no, **kwargs):
        notice = self._gateway.query_refund(out_refund_no, **kwargs)
        return dataclasses.replace(notice, refund_status="PROCESSING", success_time=None)


class _NotifiesLost:
    """The real gateway, except that it asks WeChat to send refund notifies where nobody listens."""

    refund_notify_url = "http://127.0.0.1:9/api/v1/wechat/refund/notify"

    def __init__(self, gateway):
        self._gateway = gateway

    def __getattr__(self, name):
        return getattr(self._gateway, name)


def _gateway(live):
    with live.app.app_context():
        return get_payment_gateway()


def _reconcile(live) -> str:
    result = live.app.test_cli_runner().invoke(args=["reconcile-payments", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def test_lost_refund_notify_is_settled_by_reconcile_once_wechat_has_finished(live, seller, paid_card):
    consumer_id, card_id, (_, newer) = paid_card
    set_payment_gateway(live.app, _NotifiesLost(_gateway(live)))  # nobody listens: this refund's notifies are lost
    try:
        refund_id, [(_, _, out_refund_no)] = _refund(live, seller, consumer_id, card_id, 3000)
    finally:
        set_payment_gateway(live.app, None)
    wait_for(lambda: live.notify_attempts(out_refund_no))  # WeChat refunded and tried to tell us
    assert _allocation(live, out_refund_no).status == "pending"

    set_payment_gateway(live.app, _StillProcessing(_gateway(live)))
    try:
        assert "refunds settled 0, refund errors 0" in _reconcile(live)
    finally:
        set_payment_gateway(live.app, None)
    assert _allocation(live, out_refund_no).status == "pending"  # in progress is no outcome: nothing released
    assert order_row(live, newer).refunded_fen == 3000

    assert "refunds settled 1, refund errors 0" in _reconcile(live)
    allocation = _allocation(live, out_refund_no)
    assert allocation.status == "succeeded" and allocation.wechat_refund_id
    assert _refund_row(live, refund_id).status == "succeeded"
    assert "refunds settled 0, refund errors 0" in _reconcile(live)  # settled once


@pytest.mark.pay_versions("v2")  # v3: tests/payments/test_notify_v3.py
def test_refund_notifies_that_do_not_match_are_refused(live, seller, paid_card):
    consumer_id, card_id, (_, newer) = paid_card
    refund_id, [(_, _, out_refund_no)] = _refund(live, seller, consumer_id, card_id, 1000)
    wait_for(lambda: _refund_row(live, refund_id).status == "succeeded")
    common = {"refund_id": "50000000000000000000000001", "total_fee": "5000", "refund_status": "SUCCESS",
              "success_time": "2026-11-23 10:00:00"}
    cases = {
        "unknown refund": _refund_notify(live, out_refund_no="Rnope", out_trade_no=newer, refund_fee="1000", **common),
        "refund_fee differs from the refund amount": _refund_notify(
            live, out_refund_no=out_refund_no, out_trade_no=newer, refund_fee="999", **common),
        "req_info cannot be decrypted": to_xml({"return_code": "SUCCESS", "appid": live.settings.appid,
                                                 "mch_id": live.settings.mch_id, "req_info": "Zm9yZ2Vk"}).encode(),
        "body is not XML": b"not xml at all",
    }
    for reason, body in cases.items():
        reply = xmltodict.parse(live.post(REFUND_NOTIFY, data=body).content)["xml"]
        assert (reply["return_code"], reply["return_msg"]) == ("FAIL", reason)
    assert _allocation(live, out_refund_no).status == "succeeded"


def test_failed_refund_releases_the_order_amount(live, seller, paid_card):
    consumer_id, card_id, (_, newer) = paid_card
    _cut_off_refunds(live)  # WeChat never hears of it
    refund_id, [(_, _, out_refund_no)] = _refund(live, seller, consumer_id, card_id, 2000)
    closed, headers = live.refund_notify(out_refund_no=out_refund_no, out_trade_no=newer,
                                         refund_id="5000000000000001", total_fee="5000", refund_fee="2000",
                                         refund_status="REFUNDCLOSE")
    assert live.reply(live.post(live.refund_notify_path, data=closed, headers=headers))[0] == "SUCCESS"
    assert _allocation(live, out_refund_no).status == "failed"
    assert _refund_row(live, refund_id).status == "failed"
    assert order_row(live, newer).refunded_fen == 0
