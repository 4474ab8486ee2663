"""Subscribe messages: queued with the credit or the redemption, sent after commit under the template
fields the configuration names; a WeChat error never undoes the business action."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.auth import Principal, PrincipalKind
from server.cards.dynamic_codes import issue_code
from server.cards.models import Card
from server.consumers.models import Consumer
from server.db import db
from server.extensions import get_redis
from server.merchants.models import Merchant
from server.notifications.models import OutboxMessage
from server.notifications.services import TemplateKey, queue_message
from server.redemption.services import RedeemRequest, redeem
from tests import factories
from tests.payments.support import TOP_UP_TEMPLATE, new_card, place_top_up, wait_for, wait_order_status


def _outbox(live) -> list[OutboxMessage]:
    return live.query(lambda s: list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))))


def _openid(live, consumer_id: int) -> str:
    return live.query(lambda s: s.get(Consumer, consumer_id).openid)


def _pay_top_up(live, seller, amount_fen: int = 30000, bonus_fen: int = 5000) -> tuple[int, int]:
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id)
    out_trade_no, _ = place_top_up(live, seller, consumer_id, card_id, amount_fen, bonus_fen)
    live.simulate_pay(out_trade_no)
    wait_order_status(live, out_trade_no, "paid")
    return consumer_id, card_id


def test_message_is_sent_after_the_credit_commits(live, seller):
    consumer_id, _ = _pay_top_up(live, seller)
    [message] = wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "sent" and rows)
    assert (message.template_key, message.attempts, message.last_error) == ("top_up", 1, None)
    [sent] = live.messages(_openid(live, consumer_id))
    assert sent["template_id"] == TOP_UP_TEMPLATE
    assert sent["data"] == {"thing1": {"value": "咖啡储值卡"}, "amount2": {"value": "¥300.00"},
                            "amount3": {"value": "¥50.00"}, "amount4": {"value": "¥350.00"},
                            "time5": {"value": message.payload["time"]}}
    assert re.fullmatch(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}", message.payload["time"])


def test_wechat_refusal_43101_does_not_undo_the_credit(live, seller):
    live.app.config["WECHAT_TEMPLATE_TOP_UP"] = "fail-43101"  # the simulator answers 43101 for it
    consumer_id, card_id = _pay_top_up(live, seller)
    [message] = wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "failed" and rows)
    assert message.attempts == 1 and "43101" in message.last_error  # permanent: not retried
    card = live.query(lambda s: s.get(Card, card_id))
    assert (card.principal_fen, card.bonus_fen) == (30000, 5000)
    assert live.messages(_openid(live, consumer_id)) == []


def test_transient_error_is_retried_by_send_notifications(live, seller):
    live.app.config["WECHAT_TEMPLATE_TOP_UP"] = "fail--1"  # WeChat busy
    consumer_id, _ = _pay_top_up(live, seller)
    wait_for(lambda: (rows := _outbox(live)) and rows[0].attempts == 1)
    [message] = _outbox(live)
    assert message.status == "pending" and "errcode=-1" in message.last_error

    live.app.config["WECHAT_TEMPLATE_TOP_UP"] = TOP_UP_TEMPLATE
    result = live.app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0 and "sent 1, failed 0, will retry 0" in result.output
    [message] = _outbox(live)
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(live.messages(_openid(live, consumer_id))) == 1


def test_unconfigured_template_is_recorded_as_failed(live, seller):
    live.app.config["WECHAT_TEMPLATE_TOP_UP"] = ""
    _pay_top_up(live, seller)
    [message] = wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "failed" and rows)
    assert "WECHAT_TEMPLATE_TOP_UP" in message.last_error


def test_only_committed_messages_are_sent(live, seller):
    consumer_id, _ = live.login()
    data = {"card": "测试", "amount": "¥1.00", "bonus": "¥0.00", "balance": "¥1.00", "time": "2026年11月23日 10:00"}
    with live.app.app_context():
        queue_message(db.session, merchant_id=seller.merchant_id, consumer_id=consumer_id,
                      template_key=TemplateKey.TOP_UP, payload=data)
        db.session.rollback()
        live.app.config["NOTIFICATIONS_AFTER_COMMIT"] = False  # leave this one to the CLI
        queue_message(db.session, merchant_id=seller.merchant_id, consumer_id=consumer_id,
                      template_key=TemplateKey.TOP_UP, payload=data)
        db.session.commit()
        db.session.remove()
    [message] = _outbox(live)
    assert message.status == "pending"
    assert live.app.test_cli_runner().invoke(args=["send-notifications"]).exit_code == 0
    assert [m.status for m in _outbox(live)] == ["sent"]
    assert len(live.messages(_openid(live, consumer_id))) == 1


def test_redemption_message_tells_store_amount_and_balance(live, seller):
    consumer_id, _ = live.login()
    card_id = new_card(live, seller, consumer_id, principal_fen=10000)

    def redeem_at_the_counter(session):
        merchant = session.get(Merchant, seller.merchant_id)
        store = factories.store(session, merchant, name="人民广场店")
        cashier = factories.staff(session, merchant, "cashier", store_id=store.id)
        actor = Principal(PrincipalKind.STAFF, cashier.id, merchant_id=merchant.id, role="cashier", store_id=store.id)
        code = issue_code(get_redis(), card_id).qr_payload
        redeem(session, get_redis(), live.app.config, actor, RedeemRequest(code, store.id, amount_fen=2550))
        session.commit()  # the message goes out after this commit

    live.query(redeem_at_the_counter)
    [message] = wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "sent" and rows)
    [sent] = live.messages(_openid(live, consumer_id))
    assert sent["template_id"] == "tpl-redemption"
    assert sent["data"] == {"thing1": {"value": "人民广场店"}, "amount2": {"value": "¥25.50"},
                            "amount3": {"value": "¥74.50"}, "time4": {"value": message.payload["time"]}}


def test_template_fields_follow_the_configuration(live, seller):
    live.app.config["WECHAT_TEMPLATE_TOP_UP_FIELDS"] = (
        "card=thing7, amount=amount1, bonus=amount9, balance=amount3, time=date2")  # spaces are allowed
    consumer_id, _ = _pay_top_up(live, seller)
    wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "sent")
    [sent] = live.messages(_openid(live, consumer_id))
    assert sorted(sent["data"]) == ["amount1", "amount3", "amount9", "date2", "thing7"]
    assert sent["data"]["amount9"] == {"value": "¥50.00"}


def test_a_field_the_configuration_leaves_out_fails_the_message_instead_of_sending_part(live, seller):
    live.app.config["WECHAT_TEMPLATE_TOP_UP_FIELDS"] = "card=thing1,amount=amount2,balance=amount4,time=time5"
    consumer_id, _ = _pay_top_up(live, seller)
    [message] = wait_for(lambda: (rows := _outbox(live)) and rows[0].status == "failed" and rows)
    assert message.last_error == "WECHAT_TEMPLATE_TOP_UP_FIELDS names no template field for 'bonus'"
    assert live.messages(_openid(live, consumer_id)) == []
