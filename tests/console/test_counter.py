"""The cashier's counter in the console: scan-to-redeem through the idempotent JSON endpoint, the
cashier's error messages, the redemptions list and reversal."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db
from server.redemption.models import Redemption
from tests import factories
from tests.console.helpers import csrf_token

#: The counter's stored-value product takes 90% of the bill (tests/counter.py).
DISCOUNT = 90


def _post(client, path: str, body: dict, key: str | None = None):
    """What the page's script sends: JSON, the CSRF header, and an Idempotency-Key."""
    return client.post(path, json=body, headers={
        "X-CSRFToken": csrf_token(client), "Accept": "application/json",
        "Idempotency-Key": key or str(uuid.uuid4()),
    })


def _redeem(client, counter, code: str, key: str | None = None, **fields):
    body = {"code": code, "store_id": str(counter.shop.store_id), **fields}
    return _post(client, "/console/redeem", body, key)


def _balance(app, card_id: int) -> int:
    with app.app_context():
        return db.session.get(Card, card_id).balance_fen


def _redemptions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Redemption.id)))


def test_the_scan_page_fixes_a_cashiers_store_and_renders_a_fresh_key(staff_client, counter):
    cashier = staff_client("cashier")
    page = cashier.get("/console/redeem").get_data(as_text=True)
    assert f'<input type="hidden" name="store_id" value="{counter.shop.store_id}">' in page
    assert 'name="store_id">' not in page and "一号店" in page and "二号店" not in page
    assert re.search(r'id="redeem-code" name="code" class="code-input" autofocus', page)
    pages = [cashier.get("/console/redeem").get_data(as_text=True) for _ in range(2)]
    keys = {re.search(r'name="idempotency_key" value="([^"]+)"', html)[1] for html in pages}
    assert len(keys) == 2 and all(uuid.UUID(key).version == 4 for key in keys)
    owner = staff_client("owner").get("/console/redeem").get_data(as_text=True)
    assert '<select id="redeem-store" name="store_id">' in owner and "二号店" in owner


def test_the_same_key_replays_the_same_receipt_and_deducts_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=10000)
    cashier = staff_client("cashier")
    key = str(uuid.uuid4())
    code = counter.code(card_id)["numeric"]
    first = _redeem(cashier, counter, code, key, amount_fen="20.00")
    assert first.status_code == 200, first.get_json()
    receipt = first.get_json()["receipt"]
    assert (receipt["bill_fen"], receipt["deducted_fen"], receipt["balance_fen"]) == (2000, 1800, 8200)
    assert "卡内扣款 ¥18.00" in first.get_json()["html"] and "¥82.00" in first.get_json()["html"]

    again = _redeem(cashier, counter, code, key, amount_fen="20.00")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _balance(app, card_id) == 8200 and _redemptions(app) == 1

    changed = _redeem(cashier, counter, code, key, amount_fen="30.00")
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert _balance(app, card_id) == 8200 and _redemptions(app) == 1


def test_a_key_is_required(staff_client):
    cashier = staff_client("cashier")
    response = cashier.post("/console/redeem", json={"code": "x"},
                            headers={"X-CSRFToken": csrf_token(cashier), "Accept": "application/json"})
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["error"]["details"]["fields"]


def test_cashiers_read_what_to_tell_the_customer(app, staff_client, counter):
    cashier = staff_client("cashier")
    card_id = counter.card(principal_fen=1000)
    code = counter.code(card_id)["qr"]

    def error(response) -> tuple[int, str]:
        return response.status_code, response.get_json()["error"]["message"]

    assert error(_redeem(cashier, counter, "KB1:expired-or-unknown", amount_fen="1")) == (
        422, "会员码无效或已过期，请顾客刷新会员码后重新扫码")
    assert error(_redeem(cashier, counter, code, amount_fen="20")) == (
        422, "余额不足：卡内余额 ¥10.00，本次应付 ¥18.00")
    missing = _redeem(cashier, counter, code)
    assert error(missing) == (400, "请输入消费金额")
    assert missing.get_json()["error"]["details"]["fields"] == {"amount_fen": "请输入消费金额"}
    assert error(_redeem(cashier, counter, code, amount_fen="1.234")) == (400, "请输入金额（元），最多两位小数")
    other_store = _redeem(cashier, counter, code, amount_fen="1", store_id=str(counter.shop.other_store_id))
    assert other_store.status_code == 403
    assert _redemptions(app) == 0
    # none of the refusals used the code up
    assert _redeem(cashier, counter, code, amount_fen="5.00").status_code == 200


def test_count_cards_take_uses_and_say_so(staff_client, counter):
    card_id = counter.card("count", uses=10, principal_fen=20000)
    response = _redeem(staff_client("cashier"), counter, counter.code(card_id)["qr"], uses="2", amount_fen="")
    assert response.status_code == 200, response.get_json()
    html = response.get_json()["html"]
    assert "核销 2 次" in html and "8 次" in html
    too_many = _redeem(staff_client("cashier"), counter, counter.code(card_id)["qr"], uses="9")
    assert too_many.get_json()["error"]["message"] == "剩余次数不足：卡内剩余 8 次，本次核销 9 次"


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-redemption-id="(\d+)">', html)


def test_the_list_filters_and_only_managers_see_reverse(staff_client, counter):
    card_id = counter.card(principal_fen=10000)
    by_cashier = _redeem(staff_client("cashier"), counter, counter.code(card_id)["qr"], amount_fen="10").get_json()
    owner = staff_client("owner")
    other = _redeem(owner, counter, counter.code(card_id)["qr"], amount_fen="10",
                    store_id=str(counter.shop.other_store_id)).get_json()
    cashier_id, first, second = (counter.shop.staff_ids["cashier"], by_cashier["receipt"]["redemption_id"],
                                 other["receipt"]["redemption_id"])

    assert _rows(owner.get("/console/redemptions").get_data(as_text=True)) == [str(second), str(first)]
    assert _rows(owner.get(f"/console/redemptions?staff_id={cashier_id}").get_data(as_text=True)) == [str(first)]
    assert _rows(owner.get(f"/console/redemptions?store_id={counter.shop.other_store_id}&date=&status=")
                 .get_data(as_text=True)) == [str(second)]
    assert _rows(owner.get("/console/redemptions?status=reversed").get_data(as_text=True)) == []
    assert _rows(owner.get("/console/redemptions?date=2000-01-01").get_data(as_text=True)) == []
    assert "data-reverse-url" in owner.get("/console/redemptions").get_data(as_text=True)

    cashier_page = staff_client("cashier").get("/console/redemptions").get_data(as_text=True)
    assert _rows(cashier_page) == [str(first)]  # their store only
    assert "data-reverse-url" not in cashier_page and 'name="store_id"' not in cashier_page


def test_reversal_is_idempotent_and_needs_a_reason(app, staff_client, counter):
    card_id = counter.card(principal_fen=10000)
    receipt = _redeem(staff_client("cashier"), counter, counter.code(card_id)["qr"], amount_fen="10").get_json()
    path = f"/console/redemptions/{receipt['receipt']['redemption_id']}/reverse"
    manager = staff_client("manager")

    blank = _post(manager, path, {"reason": ""}).get_json()["error"]
    assert blank["details"]["fields"] == {"reason": "长度应在 1 到 200 之间"}
    key = str(uuid.uuid4())
    first = _post(manager, path, {"reason": "顾客误刷"}, key)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["card"]["balance_fen"] == 10000
    assert "已冲正，核销的金额、次数和积分已退回卡内" in manager.get("/console/redemptions").get_data(as_text=True)
    again = _post(manager, path, {"reason": "顾客误刷"}, key)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert _balance(app, card_id) == 10000
    assert _post(manager, path, {"reason": "再次冲正"}).get_json()["error"]["code"] == "ALREADY_REVERSED"

    listed = manager.get("/console/redemptions").get_data(as_text=True)
    assert "已冲正" in listed and "顾客误刷" in listed and "data-reverse-url" not in listed


def _preview(client, counter, code: str, **fields):
    body = {"code": code, "store_id": str(counter.shop.store_id), **fields}
    return client.post("/console/redeem/preview", json=body,
                       headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json"})


def test_a_preview_shows_the_card_and_leaves_the_code_usable(app, staff_client, counter):
    card_id = counter.card(principal_fen=30000, bonus_fen=5000)
    code = counter.code(card_id)["numeric"]
    cashier = staff_client("cashier")
    for _ in range(2):  # looking twice changes nothing
        response = _preview(cashier, counter, code)
        assert response.status_code == 200, response.get_json()
        card = response.get_json()["card"]
        assert (card["kind"], card["balance_fen"], card["principal_fen"], card["bonus_fen"]) == (
            "stored_value", 35000, 30000, 5000)
        assert card["holder_masked"] == "o_h***nid" and card["problem"] is None and card["needs_amount"]
        assert card["card_no_masked"].count("*") == 8 and card["discount_percent"] == 90
    html = response.get_json()["html"]
    assert "¥350.00" in html and "微信用户 o_h***nid" in html and "储值卡" in html
    assert _redemptions(app) == 0 and _balance(app, card_id) == 35000
    # the code still pays, once
    assert _redeem(cashier, counter, code, amount_fen="10").status_code == 200
    assert _preview(cashier, counter, code).get_json()["error"]["code"] == "CODE_INVALID"


def test_a_preview_says_why_a_card_would_be_refused(app, staff_client, counter):
    card_id = counter.card("count", uses=3)
    with app.app_context():
        db.session.get(Card, card_id).status = "frozen"
        db.session.commit()
    answer = _preview(staff_client("cashier"), counter, counter.code(card_id)["qr"]).get_json()
    assert answer["card"]["problem"]["code"] == "CARD_NOT_ACTIVE" and answer["card"]["remaining_uses"] == 3
    assert not answer["card"]["needs_amount"] and "data-preview-problem" in answer["html"]


def test_a_preview_of_a_wrong_code_or_another_store_is_refused_like_a_redemption(staff_client, counter):
    cashier = staff_client("cashier")
    unknown = _preview(cashier, counter, "KB1:expired-or-unknown")
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["message"] == "会员码无效或已过期，请顾客刷新会员码后重新扫码"
    code = counter.code(counter.card(principal_fen=100))["qr"]
    assert _preview(cashier, counter, code, store_id=str(counter.shop.other_store_id)).status_code == 403
    assert _preview(cashier, counter, "").get_json()["error"]["details"]["fields"]["code"]


def test_a_preview_of_another_merchants_card_is_an_invalid_code(app, staff_client, counter):
    with app.app_context():
        other = factories.merchant(db.session)
        card = factories.card(db.session, factories.product(db.session, other))
        db.session.commit()
        card_id = card.id
    answer = _preview(staff_client("cashier"), counter, counter.code(card_id)["qr"])
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "CODE_INVALID"


def test_cashiers_land_on_the_counter_after_signing_in(app, shop):
    from server.auth import hash_password
    from server.merchants.models import Staff
    with app.app_context():
        for staff_id in shop.staff_ids.values():
            db.session.get(Staff, staff_id).password_hash = hash_password("pass-word-1")
        db.session.commit()
        names = {role: db.session.get(Staff, staff_id).username for role, staff_id in shop.staff_ids.items()}
    for role, landing in (("cashier", "/console/redeem"), ("owner", "/console/")):
        client = app.test_client()
        client.get("/console/login")
        response = client.post("/console/login", data={
            "username": names[role], "password": "pass-word-1", "csrf_token": csrf_token(client)})
        assert response.status_code == 303 and response.headers["Location"] == landing, role
        assert client.get("/console/login").headers["Location"] == landing


def test_the_list_shows_the_balance_after_each_redemption_not_todays(staff_client, counter):
    card_id = counter.card(principal_fen=10000)
    cashier = staff_client("cashier")
    ids = [_redeem(cashier, counter, counter.code(card_id)["qr"], amount_fen=amount).get_json()["receipt"]
           ["redemption_id"] for amount in ("10", "20", "30")]  # 9.00, 18.00, 27.00 at 90%
    page = staff_client("owner").get("/console/redemptions").get_data(as_text=True)
    after = dict(re.findall(r'<tr data-redemption-id="(\d+)">.*?data-balance-after>([^<]+)</td>', page, re.S))
    assert [after[str(i)] for i in ids] == ["¥91.00", "¥73.00", "¥46.00"]
