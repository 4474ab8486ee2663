"""WECHAT_PAY_MODE=partner (服务商): each merchant a sub-merchant, for WeChat Pay v2 and v3 alike.

The platform sets the merchant's sub_mchid; orders, queries, refunds and notifies carry it; a
merchant without one takes no payment; a notify for another sub-merchant is refused.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from server.cards.models import Card
from server.merchants.models import Merchant
from server.payments.models import PaymentNotifyLog, Refund
from server.wechat.adapters import set_payment_gateway
from tests import factories
from tests.conftest import admin_headers
from tests.payments.support import new_card, order_row, place_top_up, wait_for, wait_order_status

SUB_MCHID = "1900000201"
OTHER_SUB_MCHID = "1900000202"
TOP_UP = {"enabled": True, "tiers": [{"amount_fen": 10000, "bonus_fen": 1000}], "allow_custom": False}


@pytest.fixture
def partner(live):
    """The served app as a service provider (the ``live`` fixture restores direct mode afterwards)."""
    live.app.config["WECHAT_PAY_MODE"] = "partner"
    set_payment_gateway(live.app, None)
    return live


@pytest.fixture
def admin(live) -> dict[str, str]:
    return admin_headers(live.app)


def _set_sub_mchid(live, admin, merchant_id: int, sub_mchid: str):
    return live.app.test_client().put(f"/api/v1/platform/merchants/{merchant_id}/wechat-pay",
                                      json={"sub_mchid": sub_mchid}, headers=admin)


def _wechat_order(live, out_trade_no: str) -> dict:
    return json.loads(live.app.extensions["kabao_redis"].get(f"wxsim:order:{out_trade_no}"))


def _balance(live, card_id: int) -> int:
    return live.query(lambda s: s.get(Card, card_id).balance_fen)


def test_the_platform_sets_a_merchants_sub_mchid(partner, seller, admin, issue_token):
    response = _set_sub_mchid(partner, admin, seller.merchant_id, SUB_MCHID)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["merchant_id"], body["wechat_pay"]) == (seller.merchant_id, {"sub_mchid": SUB_MCHID})
    assert partner.query(lambda s: s.get(Merchant, seller.merchant_id).wechat_sub_mchid) == SUB_MCHID

    bad = _set_sub_mchid(partner, admin, seller.merchant_id, "19-abc")
    assert bad.status_code == 400 and "sub_mchid" in bad.get_json()["error"]["details"]["fields"]
    assert _set_sub_mchid(partner, admin, 987654, SUB_MCHID).status_code == 404
    other = partner.query(lambda s: (m := factories.merchant(s), s.commit(), m.id)[-1])
    taken = _set_sub_mchid(partner, admin, other, SUB_MCHID)
    assert taken.status_code == 409  # one sub-merchant, one merchant
    staff = issue_token(kind="staff", id=1, merchant_id=seller.merchant_id, role="owner")
    assert _set_sub_mchid(partner, staff, seller.merchant_id, OTHER_SUB_MCHID).status_code == 403
    assert partner.app.test_client().put(f"/api/v1/platform/merchants/{seller.merchant_id}/wechat-pay",
                                         json={"sub_mchid": OTHER_SUB_MCHID}).status_code == 401


def test_no_sub_mchid_no_payment(partner, seller):
    def configure(session):
        from server.products.models import CardProduct

        session.get(CardProduct, seller.product_id).top_up = TOP_UP
        session.commit()

    partner.query(configure)
    consumer_id, headers = partner.login()
    card_id = new_card(partner, seller, consumer_id)
    top_up = partner.post(f"/api/v1/mp/cards/{card_id}/top-ups", json={"amount_fen": 10000},
                          headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert top_up.status_code == 422 and top_up.json()["error"]["code"] == "PAYMENT_NOT_CONFIGURED"

    from tests import issuance_support

    batch_id = issuance_support.batch(partner.app, seller.merchant_id, seller.product_id, issue_method="purchase",
                                      price_fen=8000, quantity=5)
    bought = partner.post(f"/api/v1/mp/batches/{batch_id}/purchase",
                          headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert bought.status_code == 422 and bought.json()["error"]["code"] == "PAYMENT_NOT_CONFIGURED"
    assert partner.query(lambda s: s.scalar(select(Refund.id))) is None


def test_money_goes_to_the_merchants_sub_merchant_and_comes_back_from_it(partner, seller, admin):
    _set_sub_mchid(partner, admin, seller.merchant_id, SUB_MCHID)
    consumer_id, _ = partner.login()
    card_id = new_card(partner, seller, consumer_id)
    out_trade_no, params = place_top_up(partner, seller, consumer_id, card_id, 10000)
    assert order_row(partner, out_trade_no).sub_mchid == SUB_MCHID
    assert _wechat_order(partner, out_trade_no)["sub_mchid"] == SUB_MCHID  # placed for the sub-merchant
    assert params["package"].startswith("prepay_id=")

    partner.simulate_pay(out_trade_no)
    wait_order_status(partner, out_trade_no, "paid")
    assert _balance(partner, card_id) == 10000

    # A lost notify is settled by reconciliation, asking WeChat about the sub-merchant's order.
    second, _ = place_top_up(partner, seller, consumer_id, card_id, 2000)
    partner.simulate_pay(second, notify=False)
    result = partner.app.test_cli_runner().invoke(args=["reconcile-payments", "--older-than", "0"])
    assert "settled 1" in result.output, result.output
    assert _balance(partner, card_id) == 12000

    # The refund goes to WeChat for the same sub-merchant, and its notify settles it.
    from tests.payments.test_refunds import _refund

    refund_id, [(number, amount, _)] = _refund(partner, seller, consumer_id, card_id, 2000)
    assert (number, amount) == (second, 2000)
    wait_for(lambda: partner.query(lambda s: s.get(Refund, refund_id).status) == "succeeded")


def test_a_notify_for_another_sub_merchant_is_refused(partner, seller, admin):
    _set_sub_mchid(partner, admin, seller.merchant_id, SUB_MCHID)
    consumer_id, _ = partner.login()
    card_id = new_card(partner, seller, consumer_id)
    out_trade_no, _ = place_top_up(partner, seller, consumer_id, card_id, 10000)
    paid = partner.simulate_pay(out_trade_no, notify=False)
    fields = {"out_trade_no": out_trade_no, "total_fee": "10000", "cash_fee": "10000",
              "transaction_id": paid["transaction_id"], "attach": str(order_row(partner, out_trade_no).id)}

    if partner.version == "v2":
        body, headers = partner.signed_notify(**fields, sub_mch_id=OTHER_SUB_MCHID), {}
        bare, bare_headers = partner.signed_notify(**fields), {}
    else:
        body, headers = partner.payment_notify(**fields, sub_mchid=OTHER_SUB_MCHID)
        bare, bare_headers = partner.payment_notify(**fields)  # a direct-mode notify: no sub-merchant at all
    assert partner.reply(partner.post(partner.notify_path, data=body, headers=headers)) == (
        "FAIL", "sub_mchid is not the order's merchant's")
    # v3: a direct-mode resource has appid/mchid where partner mode wants sp_appid/sp_mchid.
    assert partner.reply(partner.post(partner.notify_path, data=bare, headers=bare_headers)) == (
        "FAIL", "missing sub_mchid" if partner.version == "v2" else "appid is not ours")
    assert order_row(partner, out_trade_no).status == "pending" and _balance(partner, card_id) == 0
    assert partner.query(lambda s: list(s.scalars(select(PaymentNotifyLog.outcome)))) == ["rejected"] * 2

    if partner.version == "v2":
        good, good_headers = partner.signed_notify(**fields, sub_mch_id=SUB_MCHID), {}
    else:
        good, good_headers = partner.payment_notify(**fields, sub_mchid=SUB_MCHID)
    assert partner.reply(partner.post(partner.notify_path, data=good, headers=good_headers))[0] == "SUCCESS"
    assert _balance(partner, card_id) == 10000
