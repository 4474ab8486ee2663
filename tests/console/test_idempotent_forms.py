"""Console forms that move value or change a status carry a one-time key rendered with the page: the
same form submitted twice (a double click, the browser's resubmit) takes effect once, and the second
answer is the first one — the same 303 and its Location, with the first request's message."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth import Principal, PrincipalKind
from server.cards.models import Card
from server.db import db, utcnow
from server.idempotency import IdempotencyRecord
from server.issuance.models import Batch
from server.ledger.models import Journal
from server.products.models import CardProduct
from server.rewards import services as rewards
from server.rewards.models import Reward
from tests import issuance_support
from tests.console.helpers import alerts, csrf_token, form_inputs

SESSION_COOKIE = "kabao_session"


def _card(app, card_id: int) -> Card:
    with app.app_context():
        card = db.session.get(Card, card_id)
        db.session.expunge(card)
        return card


def _audited(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def _submit_twice(client, page_path: str, action: str, fields: dict, *, first_answer_lost: bool = False):
    """Render ``page_path`` once, then post its form to ``action`` twice with what the page carried.

    ``first_answer_lost``: the browser never saw the first answer (the second click cancelled it), so
    the second post comes with the session cookie the first one changed nothing in."""
    data = {**form_inputs(client.get(page_path), action), **fields}
    assert uuid.UUID(data["idempotency_key"]).version == 4
    cookie = client.get_cookie(SESSION_COOKIE).value
    first = client.post(action, data=data)
    if first_answer_lost:
        client.set_cookie(SESSION_COOKIE, cookie)
    return first, client.post(action, data=data), data


def _same_answer(first, second) -> None:
    assert first.status_code == 303 and "Idempotent-Replayed" not in first.headers
    assert second.status_code == 303 and second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert second.get_data() == first.get_data()


def _stored_value_reward(app, shop, value_fen: int, points_price: int, stock: int) -> int:
    with app.app_context():
        owner = Principal(PrincipalKind.STAFF, shop.staff_ids["owner"], merchant_id=shop.merchant_id, role="owner")
        reward = rewards.create_reward(db.session, owner, name="10元储值", kind="stored_value",
                                       points_price=points_price, stock=stock, value_fen=value_fen)
        db.session.commit()
        return reward.id


def test_every_value_or_status_form_renders_its_own_fresh_key(app, staff_client, counter):
    card_no = _card(app, counter.card(principal_fen=5000, points=500)).card_no
    _stored_value_reward(app, counter.shop, 1000, 200, 5)
    owner = staff_client("owner")
    page = owner.get(f"/console/cards/{card_no}")
    keys = [form_inputs(page, f"/console/cards/{card_no}/{action}")["idempotency_key"]
            for action in ("freeze", "report-lost", "exchange")]
    again = form_inputs(owner.get(f"/console/cards/{card_no}"), f"/console/cards/{card_no}/freeze")
    assert len({*keys, again["idempotency_key"]}) == 4
    counter_page = owner.get("/console/card-counter")
    card_keys = {form_inputs(counter_page, f"/console/card-counter/{action}")["idempotency_key"]
                 for action in ("activate", "report-lost", "replace")}
    assert len(card_keys) == 3 and all(uuid.UUID(key).version == 4 for key in card_keys)


def test_an_exchange_submitted_twice_moves_value_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000, points=500)
    card_no = _card(app, card_id).card_no
    reward_id = _stored_value_reward(app, counter.shop, 1000, 200, 5)
    cashier = staff_client("cashier")
    first, second, data = _submit_twice(cashier, f"/console/cards/{card_no}", f"/console/cards/{card_no}/exchange",
                                        {"reward_id": str(reward_id)}, first_answer_lost=True)
    _same_answer(first, second)
    assert first.headers["Location"] == f"/console/cards/{card_no}"
    card = _card(app, card_id)
    assert (card.points, card.balance_fen) == (300, 6000)  # 200 points for ¥10, once
    with app.app_context():
        assert db.session.get(Reward, reward_id).stock == 4
        assert db.session.scalar(select(func.count(Journal.id)).where(Journal.kind == "exchange")) == 1
    # The page the replayed redirect leads to says what the first submit did, once.
    shown = cashier.get(second.headers["Location"]).get_data(as_text=True)
    assert shown.count("已兑换「10元储值」，扣除 200 积分，剩余 300 积分") == 1

    # A fresh render is a new exchange; the old key with other content is refused, in Chinese.
    changed = cashier.post(f"/console/cards/{card_no}/exchange", data={**data, "store_id": "999"})
    assert changed.status_code == 409
    assert alerts(changed)[0] == "这张表单已经提交过，内容与第一次不同；请刷新页面后重新填写"
    assert _card(app, card_id).points == 300


def test_a_freeze_submitted_twice_changes_the_status_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card(app, card_id).card_no
    manager = staff_client("manager")
    first, second, _ = _submit_twice(manager, f"/console/cards/{card_no}", f"/console/cards/{card_no}/freeze",
                                     {"reason": "顾客来电挂失"})
    _same_answer(first, second)
    assert _card(app, card_id).status == "frozen" and _audited(app, "card.freeze") == 1
    assert "卡已冻结，解冻前不能核销" in manager.get(f"/console/cards/{card_no}").get_data(as_text=True)

    first, second, _ = _submit_twice(manager, f"/console/cards/{card_no}", f"/console/cards/{card_no}/unfreeze",
                                     {"reason": "顾客找回手机"})
    _same_answer(first, second)
    assert _card(app, card_id).status == "active" and _audited(app, "card.unfreeze") == 1


def test_a_report_lost_submitted_twice_on_the_card_page_changes_the_card_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card(app, card_id).card_no
    first, second, _ = _submit_twice(staff_client("cashier"), f"/console/cards/{card_no}",
                                     f"/console/cards/{card_no}/report-lost", {"reason": "顾客来店挂失"})
    _same_answer(first, second)
    assert _card(app, card_id).status == "frozen" and _audited(app, "card.report_lost") == 1


def test_a_refused_form_stores_nothing_so_the_corrected_form_goes_through(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card(app, card_id).card_no
    manager = staff_client("manager")
    data = form_inputs(manager.get(f"/console/cards/{card_no}"), f"/console/cards/{card_no}/freeze")
    refused = manager.post(f"/console/cards/{card_no}/freeze", data={**data, "reason": " "})
    assert refused.status_code == 400 and _card(app, card_id).status == "active"
    with app.app_context():
        assert db.session.scalar(select(func.count(IdempotencyRecord.id))) == 0
    done = manager.post(f"/console/cards/{card_no}/freeze", data={**data, "reason": "顾客来电挂失"})
    assert done.status_code == 303 and _card(app, card_id).status == "frozen"


def test_a_form_without_its_key_is_refused_and_does_nothing(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card(app, card_id).card_no
    manager = staff_client("manager")
    refused = manager.post(f"/console/cards/{card_no}/freeze",
                           data={"csrf_token": csrf_token(manager), "reason": "顾客来电挂失"})
    assert refused.status_code == 400 and "页面已过期，请刷新页面后重新提交" in alerts(refused)
    assert _card(app, card_id).status == "active" and _audited(app, "card.freeze") == 0


def test_a_report_lost_sent_twice_at_the_card_counter_changes_the_card_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card(app, card_id).card_no
    cashier = staff_client("cashier")
    key = form_inputs(cashier.get("/console/card-counter"), "/console/card-counter/report-lost")["idempotency_key"]
    headers = {"X-CSRFToken": csrf_token(cashier), "Accept": "application/json", "Idempotency-Key": key}
    first = cashier.post("/console/card-counter/report-lost", json={"card_no": card_no}, headers=headers)
    second = cashier.post("/console/card-counter/report-lost", json={"card_no": card_no}, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert _card(app, card_id).status == "frozen" and _audited(app, "card.report_lost") == 1


def test_a_batch_approval_submitted_twice_is_given_once(app, staff_client, make_product, shop):
    product_id = make_product(status="published", face_value_fen=100000)
    batch_id = issuance_support.batch(app, shop.merchant_id, product_id, status="pending_approval")
    operations = staff_client("operations")
    first, second, _ = _submit_twice(operations, f"/console/batches/{batch_id}",
                                     f"/console/batches/{batch_id}/approve", {})
    _same_answer(first, second)
    assert _audited(app, "batch.approve") == 1
    assert "已记录审批，等待另一角色审批" in operations.get(first.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Batch, batch_id).status == "pending_approval"


def test_a_review_submitted_twice_decides_once(app, admin_client, make_product):
    product_id = make_product(status="pending_review")
    first, second, _ = _submit_twice(admin_client, "/platform/products", f"/platform/products/{product_id}/review",
                                     {"decision": "reject", "comment": "面值有误"})
    _same_answer(first, second)
    assert _audited(app, "product.reject") == 1
    with app.app_context():
        assert db.session.get(CardProduct, product_id).status == "rejected"


def test_a_reactivation_submitted_twice_reactivates_once(app, staff_client, counter):
    card_id = counter.card(principal_fen=3000, status="expired", expires_at=utcnow() - timedelta(days=1))
    card_no = _card(app, card_id).card_no
    first, second, _ = _submit_twice(staff_client("owner"), f"/console/cards/{card_no}",
                                     f"/console/cards/{card_no}/reactivate", {"reason": "顾客申请延期"})
    _same_answer(first, second)
    card = _card(app, card_id)
    assert (card.status, card.balance_fen) == ("active", 3000) and _audited(app, "card.reactivate") == 1
