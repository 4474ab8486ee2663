"""WeChat card wallet sync against the simulator, with the real wechatpy ``client.card`` over HTTP."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from sqlalchemy import update

from server.cards.dynamic_codes import issue_code
from server.cards.models import Card
from server.cardwallet.models import LinkStatus, WeChatCardLink
from server.cardwallet.services import add_card_params, request_sync
from server.cardwallet.sync import RETRY_DELAYS
from server.db import utcnow
from server.extensions import get_redis
from server.jobs.queue import wait_for_jobs
from server.wechat.card_wallet import card_ext, card_ext_signature, make_card_wallet_client
from server.wechat.settings import WeChatSettings
from tests.cardwallet.conftest import consumer_headers, member_card


def _add_card(wallet, synced, consumer_id=None):
    headers = consumer_headers(wallet.app, consumer_id or synced.consumer_id)
    return wallet.client.get(f"/api/v1/mp/cards/{synced.card_id}/wechat-card", headers=headers)


def _added_and_activated(wallet, synced):
    params = _add_card(wallet, synced).get_json()
    assert wallet.add_to_wallet(params["cardId"], params["cardExt"])["errcode"] == 0
    headers = consumer_headers(wallet.app, synced.consumer_id)
    added = wallet.client.post(f"/api/v1/mp/cards/{synced.card_id}/wechat-card/added", headers=headers)
    assert added.status_code == 202
    assert wallet.run("cardwallet.push", link_id=wallet.link(synced.card_id).id) == "activated"
    return params


def _redeem(wallet, shop, card_id, amount_fen, key):
    with wallet.app.app_context():
        code = issue_code(get_redis(), card_id)
    headers = {**shop.headers("cashier"), "Idempotency-Key": key}
    return wallet.client.post("/api/v1/merchant/redeem", headers=headers,
                              json={"code": code.qr_payload, "store_id": shop.store_id, "amount_fen": amount_fen})


def _make_due(wallet, link_id):
    """Time passes: the link's next attempt is due now."""
    def go(session):
        session.execute(update(WeChatCardLink).where(WeChatCardLink.id == link_id)
                        .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    wallet.query(go)


# --- the adapter ---------------------------------------------------------------------------------


def test_the_official_account_client_calls_the_configured_base_url():
    settings = WeChatSettings(appid="wxmp", secret="s", mch_id="1", pay_key="k", api_base_url="http://sim/api/",
                              oa_appid="wxoa", oa_secret="oas")
    client = make_card_wallet_client(settings, get_redis_stub())
    assert client.appid == "wxoa"
    assert client.card.API_BASE_URL == "http://sim/api/"
    assert client.API_BASE_URL == "http://sim/api/cgi-bin/"
    assert make_card_wallet_client(WeChatSettings(appid="wxmp", secret="s", mch_id="1", pay_key="k"), None) is None


def get_redis_stub():
    import fakeredis

    return fakeredis.FakeRedis()


def test_card_ext_signature_is_sha1_of_the_sorted_values():
    ext = json.loads(card_ext("TICKET", card_id="pCARD", code="123", timestamp=1700000000, nonce_str="abc"))
    values = sorted(["TICKET", "1700000000", "abc", "pCARD", "123"])
    expected = hashlib.sha1("".join(values).encode()).hexdigest()  # noqa: S324 (WeChat's algorithm)
    assert ext == {"timestamp": "1700000000", "nonce_str": "abc", "code": "123", "signature": expected}
    assert card_ext_signature("TICKET", "1700000000", "abc", "pCARD", "123", None) == expected


# --- creating the member card --------------------------------------------------------------------


def test_publishing_an_opted_in_product_creates_its_member_card_once(wallet, shop):
    from server.cardwallet.models import WeChatMemberCard
    from tests import factories

    def build(session):
        merchant = session.get(factories.Merchant, shop.merchant_id)
        product = factories.product(session, merchant, name="会员储值卡", status="approved",
                                    wechat_card={"enabled": True}, terms="储值不退")
        plain = factories.product(session, merchant, name="普通卡", status="approved")
        session.commit()
        return product.id, plain.id

    product_id, plain_id = wallet.query(build)
    for pid in (product_id, plain_id):
        response = wallet.client.post(f"/api/v1/merchant/card-products/{pid}/publish", headers=shop.headers("owner"))
        assert response.status_code == 200, response.get_json()
        assert bool(response.get_json()["wechat_card"].get("enabled")) is (pid == product_id)
    rows = wallet.query(lambda s: [(r.id, r.product_id, r.status) for r in s.query(WeChatMemberCard)])
    assert [(pid, status) for _, pid, status in rows] == [(product_id, "pending")]  # only the opted-in one
    row_id = rows[0][0]

    assert wallet.run("cardwallet.dispatch") == {"create": 1, "push": 0}
    assert wait_for_jobs(wallet.app)
    assert wallet.run("cardwallet.create_card", member_card_id=row_id) is None  # a duplicate creates nothing
    created = member_card(wallet, row_id)
    assert created.status == "created" and created.wx_card_id.startswith("p")
    calls = wallet.calls("card/create")
    assert len(calls) == 1
    card = calls[0]["body"]["card"]
    assert card["card_type"] == "MEMBER_CARD"
    assert card["member_card"]["supply_balance"] is True and card["member_card"]["supply_bonus"] is True
    assert card["member_card"]["base_info"]["title"] == "会员储值卡"
    assert card["member_card"]["base_info"]["use_custom_code"] is True


def test_card_creation_is_retried_after_a_wechat_error(wallet, opted_in, caplog):
    wallet.fail("card/create", errcode=40097)
    with caplog.at_level(logging.WARNING, logger="server.cardwallet.sync"):
        assert wallet.run("cardwallet.create_card", member_card_id=opted_in.member_card_id) == "pending"
    row = member_card(wallet, opted_in.member_card_id)
    assert row.attempts == 1 and "40097" in row.last_error and row.wx_card_id is None
    assert timedelta(seconds=50) < row.next_attempt_at - utcnow() <= RETRY_DELAYS[0]
    assert "card/create" in caplog.text and "40097" in caplog.text
    assert wallet.run("cardwallet.create_card", member_card_id=opted_in.member_card_id) is None  # not due yet

    def due(session):
        from server.cardwallet.models import WeChatMemberCard

        session.get(WeChatMemberCard, opted_in.member_card_id).next_attempt_at = utcnow()
        session.commit()
    wallet.query(due)
    assert wallet.run("cardwallet.create_card", member_card_id=opted_in.member_card_id) == "created"


# --- wx.addCard and activation -------------------------------------------------------------------


def test_card_ext_is_accepted_by_wechat_and_activation_sends_the_balances(wallet, synced):
    response = _add_card(wallet, synced)
    assert response.status_code == 200, response.get_json()
    params = response.get_json()
    wx_card_id = member_card(wallet, synced.member_card_id).wx_card_id
    assert params["cardId"] == wx_card_id
    ext = json.loads(params["cardExt"])
    assert set(ext) == {"timestamp", "nonce_str", "code", "signature"}
    assert len(wallet.calls("ticket/getticket")) == 1

    forged = json.dumps({**ext, "signature": "0" * 40})
    assert wallet.add_to_wallet(wx_card_id, forged)["errcode"] == 40056
    assert wallet.add_to_wallet(wx_card_id, params["cardExt"])["errcode"] == 0  # WeChat's own check

    # Asking again reuses the code and the cached ticket.
    again = _add_card(wallet, synced).get_json()
    assert json.loads(again["cardExt"])["code"] == ext["code"] and len(wallet.calls("ticket/getticket")) == 1

    headers = consumer_headers(wallet.app, synced.consumer_id)
    added = wallet.client.post(f"/api/v1/mp/cards/{synced.card_id}/wechat-card/added", headers=headers)
    assert added.status_code == 202 and added.get_json() == {"status": "added"}
    link = wallet.link(synced.card_id)
    assert wallet.run("cardwallet.push", link_id=link.id) == "activated"
    assert wallet.run("cardwallet.push", link_id=link.id) is None  # nothing due: a duplicate sends nothing

    (call,) = wallet.calls("card/membercard/activate")
    assert call["body"]["code"] == ext["code"] and call["body"]["card_id"] == wx_card_id
    assert call["body"]["init_balance"] == 12000 and call["body"]["init_bonus"] == 50
    state = wallet.code_state(wx_card_id, ext["code"])
    assert state["activated"] and state["balance"] == 12000 and state["bonus"] == 50
    assert state["custom_field_value1"] == "¥20.00"
    link = wallet.link(synced.card_id)
    assert link.status == LinkStatus.ACTIVATED and link.synced_balance_fen == 12000 and link.next_attempt_at is None


def test_only_the_holder_of_an_opted_in_card_gets_card_ext(wallet, synced, shop, client):
    assert _add_card(wallet, synced, consumer_id=synced.other_consumer_id).status_code == 404

    def plain_card(session):
        from tests import factories

        product = factories.product(session, session.get(factories.Merchant, shop.merchant_id), name="普通卡")
        card = factories.card(session, product, owner_id=synced.consumer_id)
        session.commit()
        return card.id

    card_id = wallet.query(plain_card)
    headers = consumer_headers(wallet.app, synced.consumer_id)
    refused = wallet.client.get(f"/api/v1/mp/cards/{card_id}/wechat-card", headers=headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "WECHAT_CARD_UNAVAILABLE"
    # An app without an Official Account has card-wallet sync off.
    off = client.get(f"/api/v1/mp/cards/{synced.card_id}/wechat-card", headers=headers)
    assert off.status_code == 422 and off.get_json()["error"]["code"] == "WECHAT_CARD_UNAVAILABLE"
    added = wallet.client.post(f"/api/v1/mp/cards/{synced.card_id}/wechat-card/added", headers=headers)
    assert added.status_code == 422  # no cardExt was ever handed out


def test_activation_of_a_code_nobody_added_is_retried(wallet, synced):
    _add_card(wallet, synced)  # cardExt handed out, but wx.addCard never happened
    headers = consumer_headers(wallet.app, synced.consumer_id)
    wallet.client.post(f"/api/v1/mp/cards/{synced.card_id}/wechat-card/added", headers=headers)
    link = wallet.link(synced.card_id)
    assert wallet.run("cardwallet.push", link_id=link.id) == "retrying"
    link = wallet.link(synced.card_id)
    assert link.status == LinkStatus.ADDED and link.attempts == 1 and "40056" in link.last_error


# --- pushes after value changes ------------------------------------------------------------------


def test_a_redemption_pushes_the_new_balance_once(wallet, synced, shop):
    params = _added_and_activated(wallet, synced)
    code = json.loads(params["cardExt"])["code"]
    response = _redeem(wallet, shop, synced.card_id, 3000, "r-1")
    assert response.status_code in (200, 201), response.get_json()
    assert wallet.calls("card/membercard/updateuser") == []  # nothing is sent inside the business action
    link = wallet.link(synced.card_id)
    assert link.change_seq == 1 and link.next_attempt_at is not None

    assert wallet.run("cardwallet.dispatch") == {"create": 0, "push": 1}
    assert wait_for_jobs(wallet.app)
    assert wallet.run("cardwallet.push", link_id=link.id) is None  # run twice: sent once
    card = wallet.query(lambda s: s.get(Card, synced.card_id))
    (call,) = wallet.calls("card/membercard/updateuser")
    body = call["body"]
    assert body["code"] == code
    assert body["balance"] == card.principal_fen + card.bonus_fen == 9000
    assert body["add_balance"] == -3000 and body["bonus"] == card.points
    state = wallet.code_state(params["cardId"], code)
    assert state["balance"] == 9000 and state["bonus"] == card.points
    assert wallet.link(synced.card_id).next_attempt_at is None


def test_a_wechat_error_is_logged_and_retried_and_the_card_is_unaffected(wallet, synced, shop, caplog):
    params = _added_and_activated(wallet, synced)
    wallet.fail("card/membercard/updateuser", errcode=45009, times=2)
    assert _redeem(wallet, shop, synced.card_id, 2000, "r-2").status_code in (200, 201)
    card_after = wallet.query(lambda s: s.get(Card, synced.card_id))
    link_id = wallet.link(synced.card_id).id

    with caplog.at_level(logging.WARNING, logger="server.cardwallet.sync"):
        assert wallet.run("cardwallet.push", link_id=link_id) == "retrying"
    assert "45009" in caplog.text
    first = wallet.link(synced.card_id)
    assert first.attempts == 1 and timedelta(seconds=50) < first.next_attempt_at - utcnow() <= RETRY_DELAYS[0]
    assert wallet.run("cardwallet.push", link_id=link_id) is None  # not due before its delay

    _make_due(wallet, link_id)
    assert wallet.run("cardwallet.push", link_id=link_id) == "retrying"
    second = wallet.link(synced.card_id)
    assert second.attempts == 2 and second.next_attempt_at - utcnow() > RETRY_DELAYS[0]  # growing delays

    _make_due(wallet, link_id)
    assert wallet.run("cardwallet.push", link_id=link_id) == "updated"
    assert wallet.link(synced.card_id).attempts == 0
    card = wallet.query(lambda s: s.get(Card, synced.card_id))
    assert (card.principal_fen, card.bonus_fen, card.points) == (
        card_after.principal_fen, card_after.bonus_fen, card_after.points)  # Kabao's card never moved
    assert wallet.code_state(params["cardId"], json.loads(params["cardExt"])["code"])["balance"] == 10000
    bodies = [c["body"] for c in wallet.calls("card/membercard/updateuser")]
    assert len(bodies) == 3 and all(b["balance"] == 10000 and b["add_balance"] == -2000 for b in bodies)


def test_the_business_action_succeeds_while_wechat_is_down(wallet, synced, shop):
    _added_and_activated(wallet, synced)
    wallet.app.config["CARD_WALLET_AFTER_COMMIT"] = True
    wallet.fail("card/membercard/updateuser", errcode=-1, times=20)
    response = _redeem(wallet, shop, synced.card_id, 1000, "r-3")
    assert response.status_code in (200, 201)
    assert wait_for_jobs(wallet.app)  # the kick ran the dispatcher and the push, which failed
    card = wallet.query(lambda s: s.get(Card, synced.card_id))
    assert card.principal_fen + card.bonus_fen == 11000
    link = wallet.link(synced.card_id)
    assert link.attempts == 1 and link.next_attempt_at is not None and link.synced_balance_fen == 12000


def test_the_after_commit_kick_pushes_a_reversal(wallet, synced, shop):
    params = _added_and_activated(wallet, synced)
    wallet.app.config["CARD_WALLET_AFTER_COMMIT"] = True
    receipt = _redeem(wallet, shop, synced.card_id, 4000, "r-4").get_json()
    assert wait_for_jobs(wallet.app)
    code = json.loads(params["cardExt"])["code"]
    assert wallet.code_state(params["cardId"], code)["balance"] == 8000
    reversed_ = wallet.client.post(f"/api/v1/merchant/redemptions/{receipt['redemption_id']}/reverse",
                                   headers={**shop.headers("manager"), "Idempotency-Key": "rev-4"},
                                   json={"reason": "收银错误"})
    assert reversed_.status_code in (200, 201), reversed_.get_json()
    assert wait_for_jobs(wallet.app)
    assert wallet.code_state(params["cardId"], code)["balance"] == 12000
    assert [c["body"]["add_balance"] for c in wallet.calls("card/membercard/updateuser")] == [-4000, 4000]


def test_a_card_that_changed_hands_stops_syncing_to_the_old_code(wallet, synced):
    _added_and_activated(wallet, synced)

    def hand_over(session):
        card = session.get(Card, synced.card_id)
        card.owner_id = synced.other_consumer_id
        request_sync(session, card)
        session.commit()
    wallet.query(hand_over)
    assert wallet.run("cardwallet.push", link_id=wallet.link(synced.card_id).id) == "revoked"
    assert wallet.calls("card/membercard/updateuser") == []
    # The new holder gets a code of their own.
    fresh = _add_card(wallet, synced, consumer_id=synced.other_consumer_id)
    assert fresh.status_code == 200 and wallet.link(synced.card_id).status == LinkStatus.ISSUED


def test_test_mode_cards_are_never_synced(wallet, synced):
    _added_and_activated(wallet, synced)

    def as_test_card(session):
        card = session.get(Card, synced.card_id)
        card.mode = "test"  # test mode does not exist yet: the guard reads this attribute when it does
        request_sync(session, card)
        session.flush()
        try:
            add_card_params(session, None, consumer_id=synced.consumer_id, card_id=synced.card_id)
        except Exception as exc:
            return type(exc).__name__, session.get(WeChatCardLink, wallet.link(synced.card_id).id).change_seq
        finally:
            session.rollback()
    assert wallet.query(as_test_card) == ("WeChatCardUnavailable", 0)


def test_sync_is_off_without_an_official_account(app, client):
    from server.jobs.queue import run_job

    with app.app_context():
        assert run_job("cardwallet.dispatch", {}) == {"create": 0, "push": 0}
    assert not app.config.get("WECHAT_OA_APPID")


def test_a_wechat_pay_top_up_pushes_principal_and_bonus(wallet, synced, shop):
    from tests.payments.support import Live, Shop, place_top_up, wait_for, wait_order_status

    params = _added_and_activated(wallet, synced)
    live = Live(app=wallet.app, base_url=wallet.base_url)
    out_trade_no, _ = place_top_up(live, Shop(shop.merchant_id, synced.product_id), synced.consumer_id,
                                   synced.card_id, 10000, bonus_fen=1000)
    live.simulate_pay(out_trade_no)  # WeChat Pay's notify comes back over HTTP and credits the card
    wait_order_status(live, out_trade_no, "paid")
    link_id = wallet.link(synced.card_id).id
    wait_for(lambda: wallet.link(synced.card_id).change_seq == 1)
    assert wallet.run("cardwallet.push", link_id=link_id) == "updated"
    (call,) = wallet.calls("card/membercard/updateuser")
    assert call["body"]["balance"] == 23000 and call["body"]["add_balance"] == 11000
    assert call["body"]["custom_field_value1"] == "¥30.00"
    state = wallet.code_state(params["cardId"], json.loads(params["cardExt"])["code"])
    assert state["balance"] == 23000


def test_the_opt_in_is_a_product_field(client, shop):
    created = client.post("/api/v1/merchant/card-products", headers=shop.headers("owner"),
                          json={"name": "会员卡", "kind": "stored_value", "face_value_fen": 10000,
                                "wechat_card": {"enabled": True}})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["wechat_card"] == {"enabled": True}
    plain = client.post("/api/v1/merchant/card-products", headers=shop.headers("owner"),
                        json={"name": "普通卡", "kind": "stored_value", "face_value_fen": 10000})
    assert plain.get_json()["wechat_card"] == {"enabled": False}
    bad = client.post("/api/v1/merchant/card-products", headers=shop.headers("owner"),
                      json={"name": "坏卡", "kind": "stored_value", "wechat_card": {"enabled": "yes please"}})
    assert bad.status_code == 400
