"""Top-up orders through WeChat Pay (the simulator) and the payment notify, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import pytest
import requests
import xmltodict
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import func, select

from server.cards.models import Card
from server.ledger.models import Journal, JournalKind, LedgerEntry
from server.ledger.services import verify_ledger
from server.payments.models import PaymentNotifyLog
from tests.payments.support import new_card, order_row, place_top_up, wait_order_status

NOTIFY = "/api/v1/wechat/pay/notify"


def _card(live, card_id: int) -> Card:
    def load(session):
        card = session.get(Card, card_id)
        session.expunge(card)
        return card

    return live.query(load)


def _top_up_journals(live, card_id: int) -> int:
    return live.query(lambda s: s.scalar(
        select(func.count(func.distinct(Journal.id))).join(Journal.entries)
        .where(Journal.kind == JournalKind.TOP_UP, LedgerEntry.card_id == card_id)
    ))


def _logs(live, reference: str | None = None) -> list[tuple[str, dict]]:
    def load(session):
        stmt = select(PaymentNotifyLog).order_by(PaymentNotifyLog.id)
        if reference is not None:
            stmt = stmt.where(PaymentNotifyLog.reference == reference)
        return [(row.outcome, row.detail) for row in session.scalars(stmt)]

    return live.query(load)


def _reply(response: requests.Response) -> dict:
    assert response.status_code == 200
    return xmltodict.parse(response.content)["xml"]


@pytest.fixture
def holder(live, seller):
    """A logged-in consumer holding an empty card of the seller's product."""
    consumer_id, headers = live.login()
    return consumer_id, headers, new_card(live, seller, consumer_id)


def test_order_creation_and_pay_params_signed_like_wechat(live, seller, holder):
    consumer_id, _, card_id = holder
    out_trade_no, params = place_top_up(live, seller, consumer_id, card_id, 30000, 5000)

    order = order_row(live, out_trade_no)
    assert (order.status, order.amount_fen, order.bonus_fen, order.card_id) == ("pending", 30000, 5000, card_id)
    assert order.purpose == "top_up" and out_trade_no.startswith("T") and len(out_trade_no) == 32
    assert order.prepay_id and params["package"] == f"prepay_id={order.prepay_id}"
    wechat_order = json.loads(live.app.extensions["kabao_redis"].get(f"wxsim:order:{out_trade_no}"))
    assert wechat_order["attach"] == str(order.id)
    assert wechat_order["total_fee"] == 30000
    assert wechat_order["notify_url"] == live.url(live.notify_path)

    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    if live.version == "v3":  # RSA over appId, timeStamp, nonceStr and package, one per line
        assert params["signType"] == "RSA"
        message = "".join(f"{v}\n" for v in (live.settings.appid, params["timeStamp"], params["nonceStr"],
                                              params["package"]))
        with open(live.settings.mch_private_key_path, "rb") as pem:
            public_key = serialization.load_pem_private_key(pem.read(), password=None).public_key()
        public_key.verify(base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return
    signed = "&".join(f"{k}={v}" for k, v in sorted({**params, "appId": live.settings.appid}.items())
                      if k != "paySign") + f"&key={live.settings.pay_key}"
    assert params["paySign"] == hashlib.md5(signed.encode()).hexdigest().upper()  # noqa: S324 - WeChat's MD5


def test_paid_top_up_credits_principal_and_bonus_once(live, seller, holder):
    consumer_id, headers, card_id = holder
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 30000, 5000)
    paid = live.simulate_pay(out_trade_no)
    live.wait_acknowledged(out_trade_no)

    order = order_row(live, out_trade_no)
    assert order.status == "paid" and order.transaction_id == paid["transaction_id"] and order.paid_at
    card = _card(live, card_id)
    assert (card.principal_fen, card.bonus_fen) == (30000, 5000)
    journal = live.query(lambda s: s.scalar(select(Journal).where(Journal.idempotency_key == f"order:{out_trade_no}")))
    assert journal.kind == "top_up" and journal.ref_type == "order" and journal.ref_id == order.id
    assert live.query(verify_ledger) == []
    assert _logs(live, out_trade_no) == [("settled", {"transaction_id": paid["transaction_id"], "total_fee": 30000,
                                                      "result_code": "SUCCESS"})]

    # WeChat delivers the same notify again: SUCCESS, nothing more credited.
    requests.post(live.sim_url(f"/pay/simulate/{out_trade_no}/notify"), timeout=10)
    assert len(live.wait_acknowledged(out_trade_no, deliveries=2)) == 2
    assert [outcome for outcome, _ in _logs(live, out_trade_no)] == ["settled", "duplicate"]
    assert (_card(live, card_id).principal_fen, _card(live, card_id).bonus_fen) == (30000, 5000)

    status = live.get(f"/api/v1/mp/orders/{out_trade_no}", headers=headers).json()
    assert {k: status[k] for k in ("order_no", "status", "amount_fen", "bonus_fen", "card_id")} == {
        "order_no": out_trade_no, "status": "paid", "amount_fen": 30000, "bonus_fen": 5000, "card_id": card_id}


def test_ten_concurrent_duplicate_notifies_credit_once(live, seller, holder):
    consumer_id, _, card_id = holder
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 10000, 1000)
    paid = live.simulate_pay(out_trade_no, notify=False)
    body, headers = live.payment_notify(out_trade_no=out_trade_no, total_fee="10000", cash_fee="10000",
                                        transaction_id=paid["transaction_id"],
                                        attach=str(order_row(live, out_trade_no).id))
    barrier = threading.Barrier(10)
    replies: list[str] = []

    def deliver() -> None:
        barrier.wait()
        replies.append(live.reply(live.post(live.notify_path, data=body, headers=headers))[0])

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert replies == ["SUCCESS"] * 10
    card = _card(live, card_id)
    assert (card.principal_fen, card.bonus_fen) == (10000, 1000)
    assert sorted(outcome for outcome, _ in _logs(live, out_trade_no)) == ["duplicate"] * 9 + ["settled"]
    assert live.query(lambda s: s.scalar(select(func.count()).select_from(Journal)
                                         .where(Journal.idempotency_key == f"order:{out_trade_no}"))) == 1
    assert live.query(verify_ledger) == []


def _forgeries(live, out_trade_no: str, order_id: int, transaction_id: str) -> dict[str, bytes]:
    good = {"out_trade_no": out_trade_no, "total_fee": "10000", "cash_fee": "10000",
            "transaction_id": transaction_id, "attach": str(order_id)}
    valid = live.signed_notify(**good).decode()
    return {
        "bad signature": valid.replace("<total_fee><![CDATA[10000]]>", "<total_fee><![CDATA[1]]>").encode(),
        "total_fee differs from the order amount": live.signed_notify(**{**good, "total_fee": "1"}),
        "appid is not ours": live.signed_notify(**{**good, "appid": "wxsomebodyelse0000"}),
        "mch_id is not ours": live.signed_notify(**{**good, "mch_id": "1999999999"}),
        "result_code is FAIL": live.signed_notify(**{**good, "result_code": "FAIL", "err_code": "NOTENOUGH"}),
        "attach does not name this order": live.signed_notify(**{**good, "attach": str(order_id + 1000)}),
        "unknown order": live.signed_notify(**{**good, "out_trade_no": "T20261123000000unknownorder00001"}),
        "body is not XML": b"<xml><total_fee>1</total_fee>",
        "root element is not <xml>": b"<html><body>hello</body></html>",
        "empty body": b"",
    }


@pytest.mark.pay_versions("v2")  # v3: tests/payments/test_notify_v3.py
def test_untrustworthy_notifies_answer_fail_and_credit_nothing(live, seller, holder):
    consumer_id, _, card_id = holder
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 10000)
    paid = live.simulate_pay(out_trade_no, notify=False)
    order_id = order_row(live, out_trade_no).id

    for reason, body in _forgeries(live, out_trade_no, order_id, paid["transaction_id"]).items():
        reply = _reply(live.post(NOTIFY, data=body, headers={"Content-Type": "text/xml"}))
        assert (reply["return_code"], reply["return_msg"]) == ("FAIL", reason), reason
    assert _reply(live.post(NOTIFY, data="垃圾 \x00 data".encode()))["return_code"] == "FAIL"

    assert order_row(live, out_trade_no).status == "pending"
    assert _card(live, card_id).balance_fen == 0
    assert _top_up_journals(live, card_id) == 0
    logged = _logs(live)
    assert [outcome for outcome, _ in logged] == ["rejected"] * 11
    assert {detail["reason"] for _, detail in logged} >= {"bad signature", "unknown order", "empty body"}
    # The claimed order number is kept for the audit trail, never a secret: no signature, no key.
    assert all(live.settings.pay_key not in json.dumps(detail) for _, detail in logged)
    assert live.query(lambda s: s.scalar(select(func.count()).select_from(PaymentNotifyLog)
                                         .where(PaymentNotifyLog.reference == out_trade_no))) == 6

    # The genuine notify still settles it afterwards.
    requests.post(live.sim_url(f"/pay/simulate/{out_trade_no}/notify"), timeout=10)
    wait_order_status(live, out_trade_no, "paid")
    assert _card(live, card_id).principal_fen == 10000


def test_get_order_is_for_its_owner_only(live, seller, holder, issue_token):
    consumer_id, headers, card_id = holder
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, 5000)
    mine = live.get(f"/api/v1/mp/orders/{out_trade_no}", headers=headers)
    assert mine.status_code == 200 and mine.json()["status"] == "pending"

    _, stranger = live.login()
    assert live.get(f"/api/v1/mp/orders/{out_trade_no}", headers=stranger).status_code == 404
    assert live.get("/api/v1/mp/orders/Tnope", headers=headers).json()["error"]["code"] == "NOT_FOUND"
    assert live.get(f"/api/v1/mp/orders/{out_trade_no}").status_code == 401
    staff = issue_token(kind="staff", id=1, merchant_id=seller.merchant_id, role="owner")
    assert live.get(f"/api/v1/mp/orders/{out_trade_no}", headers=staff).status_code == 403
