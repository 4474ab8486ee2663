"""POST/GET /open/v1/cards: issuing to a member with a bind code, binding it once in the mini-program,
idempotent replays (the bind code only from an encrypted record), the sale rules, tenant isolation."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from server.cards.models import Card
from server.db import db, utcnow
from server.idempotency import IdempotencyRecord
from server.issuance.models import Batch
from server.ledger.services import verify_ledger
from server.open.models import Member, MemberCard
from tests import issuance_support as support
from tests.open_support import error_of


def _bind(client, app, issue_token, code, consumer_id=None):
    consumer_id = consumer_id or support.consumer(app)
    headers = support.consumer_headers(issue_token, consumer_id)
    return client.post("/api/v1/mp/cards/bind", json={"code": code}, headers=headers), consumer_id


def test_issue_a_claim_card_to_a_member(app, open_api):
    batch_id = open_api.batch()
    response = open_api.issue(batch_id, "M001", name="张三", mobile="13812341234")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    card = response.get_json()
    assert len(card["bind_code"]) >= 16
    assert card["member"] == {"external_id": "M001", "name": "张三", "mobile_masked": "138****1234"}
    assert card["card_no"].startswith("6201") and card["card_no_masked"].endswith(card["card_no"][-4:])
    assert (card["status"], card["balance_fen"], card["batch_id"], card["owner"]) == ("active", 10000, batch_id, None)
    with app.app_context():
        assert db.session.get(Batch, batch_id).issued_count == 1
        row = db.session.scalar(select(MemberCard))
        member = db.session.scalar(select(Member))
        assert card["bind_code"] not in row.bind_code_hash and len(row.bind_code_hash) == 64
        assert member.mobile_encrypted and "13812341234" not in member.mobile_encrypted
        assert verify_ledger(db.session) == []

    again = open_api.get(f"/cards/{card['card_no']}").get_json()
    assert "bind_code" not in again and again["member"]["external_id"] == "M001"
    assert again["card_id"] == card["card_id"]


def test_a_code_batch_card_counts_as_a_code_and_its_price_comes_from_external_clearing(app, open_api):
    batch_id = open_api.batch(issue_method="code", quantity=2, price_fen=8000)
    card = open_api.issue(batch_id).get_json()
    assert (card["principal_fen"], card["bonus_fen"]) == (8000, 2000)
    with app.app_context():
        batch = db.session.get(Batch, batch_id)
        assert (batch.issued_count, batch.codes_generated) == (1, 1)
        accounts = dict(db.session.execute(text(
            "SELECT account, SUM(amount) FROM ledger_entries GROUP BY account")).all())
    m = open_api.shop.merchant_id
    assert accounts[f"merchant:{m}:external_clearing"] == -8000
    assert f"merchant:{m}:wechat_clearing" not in accounts
    # the last code slot, then sold out, whether by printed codes or by the open API
    response = open_api.client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 1},
                                    headers=open_api.shop.headers())
    assert response.status_code == 201
    error_of(open_api.issue(batch_id, "M002"), 409, "SOLD_OUT")


def test_the_bind_code_binds_once_in_the_mini_program(app, client, open_api, issue_token):
    card = open_api.card()
    response, consumer_id = _bind(client, app, issue_token, card["bind_code"].lower())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["card_id"] == card["card_id"]
    mine = client.get("/api/v1/mp/cards", headers=support.consumer_headers(issue_token, consumer_id)).get_json()
    assert [c["card_id"] for c in mine["items"]] == [card["card_id"]]
    # single use: the same person or anyone else gets the uniform answer
    error_of(_bind(client, app, issue_token, card["bind_code"], consumer_id)[0], 422, "CODE_INVALID")
    error_of(_bind(client, app, issue_token, card["bind_code"])[0], 422, "CODE_INVALID")
    with app.app_context():
        assert db.session.get(Card, card["card_id"]).owner_id == consumer_id
    assert open_api.get(f"/cards/{card['card_no']}").get_json()["owner"]["consumer_id"] == consumer_id


def test_redemption_codes_still_bind(app, client, open_api, issue_token):
    batch_id = open_api.batch(issue_method="code", quantity=5)
    csv = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 1},
                      headers=open_api.shop.headers()).get_data(as_text=True)
    response, _ = _bind(client, app, issue_token, csv.splitlines()[1])
    assert response.status_code == 201
    error_of(_bind(client, app, issue_token, "ABCDEFGHJKMNPQRSTUVW")[0], 422, "CODE_INVALID")


def test_an_idempotent_replay_shows_the_bind_code_again_from_an_encrypted_record(app, open_api):
    batch_id = open_api.batch()
    first = open_api.issue(batch_id, "M001", idempotency_key="issue-1")
    again = open_api.issue(batch_id, "M001", idempotency_key="issue-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Cache-Control"] == "no-store"
    assert again.get_json() == first.get_json()
    with app.app_context():
        stored = db.session.scalar(select(IdempotencyRecord.response_body))
        assert db.session.get(Batch, batch_id).issued_count == 1
    code = first.get_json()["bind_code"]
    assert code not in stored and first.get_json()["card_no"] not in stored
    error_of(open_api.issue(batch_id, "M002", idempotency_key="issue-1"), 409, "IDEMPOTENCY_CONFLICT")


def test_idempotency_keys_belong_to_one_api_key(open_api):
    batch_id = open_api.batch()
    other_key = open_api.key()
    first = open_api.issue(batch_id, "M001", idempotency_key="same").get_json()
    second = open_api.issue(batch_id, "M001", key=other_key, idempotency_key="same").get_json()
    assert first["card_id"] != second["card_id"]


def test_the_per_user_limit_counts_per_member(open_api):
    batch_id = open_api.batch(per_user_limit=2)
    for _ in range(2):
        assert open_api.issue(batch_id, "M001").status_code == 201
    error = error_of(open_api.issue(batch_id, "M001"), 409, "LIMIT_REACHED")
    assert error["details"]["per_user_limit"] == 2
    assert open_api.issue(batch_id, "M002").status_code == 201


def test_sold_out_and_the_sale_window(open_api):
    batch_id = open_api.batch(quantity=1)
    assert open_api.issue(batch_id, "M001").status_code == 201
    error_of(open_api.issue(batch_id, "M002"), 409, "SOLD_OUT")
    later = open_api.batch(sale_start=utcnow() + timedelta(days=1))
    error_of(open_api.issue(later, "M001"), 409, "STATE_CONFLICT")
    ended = open_api.batch(sale_end=utcnow() - timedelta(days=1))
    error_of(open_api.issue(ended, "M001"), 409, "STATE_CONFLICT")
    pending = open_api.batch(status="pending_approval")
    error_of(open_api.issue(pending, "M001"), 409, "STATE_CONFLICT")
    purchase = open_api.batch(issue_method="purchase", price_fen=5000)
    error_of(open_api.issue(purchase, "M001"), 409, "STATE_CONFLICT")


def test_unknown_and_other_merchants_batches_are_404(open_api, other_merchant):
    error_of(open_api.issue(999999), 404, "NOT_FOUND")
    error_of(open_api.issue(other_merchant.batch_id), 404, "NOT_FOUND")


def test_other_merchants_cards_are_not_found(app, open_api, other_merchant):
    with app.app_context():
        from tests import factories

        product = factories.product(db.session, db.session.get(factories.Merchant, other_merchant.merchant_id))
        foreign = factories.card(db.session, product, principal_fen=1000).card_no
        db.session.commit()
    for path in (f"/cards/{foreign}", f"/cards/{foreign}/transactions"):
        error_of(open_api.get(path), 404, "NOT_FOUND")
    error_of(open_api.top_up(foreign, 10000, "E-foreign"), 404, "NOT_FOUND")
    error_of(open_api.redeem(foreign, amount_fen=100), 404, "NOT_FOUND")


def test_list_a_members_cards_with_pages(open_api, other_merchant):
    cards = [open_api.card("M001") for _ in range(3)]
    open_api.card("M002")
    page = open_api.get("/cards?external_id=M001&limit=2").get_json()
    assert [c["card_id"] for c in page["items"]] == [cards[2]["card_id"], cards[1]["card_id"]]
    rest = open_api.get(f"/cards?external_id=M001&limit=2&cursor={page['next_cursor']}").get_json()
    assert [c["card_id"] for c in rest["items"]] == [cards[0]["card_id"]] and rest["next_cursor"] is None
    assert open_api.get("/cards?external_id=nobody").get_json() == {"items": [], "next_cursor": None}
    error_of(open_api.get("/cards"), 400, "VALIDATION_ERROR")


def test_the_same_external_id_at_two_merchants_is_two_members(app, open_api, other_merchant, issue_token):
    mine = open_api.card("M001")
    owner = issue_token(kind="staff", id=other_merchant.owner_id, merchant_id=other_merchant.merchant_id, role="owner")
    other_key = open_api.create_key(headers=owner).get_json()["key"]
    assert open_api.get("/cards?external_id=M001", key=other_key).get_json()["items"] == []
    theirs = open_api.issue(other_merchant.batch_id, "M001", key=other_key).get_json()
    assert theirs["member"]["external_id"] == "M001" and theirs["card_id"] != mine["card_id"]
    assert [c["card_id"] for c in open_api.get("/cards?external_id=M001").get_json()["items"]] == [mine["card_id"]]
    error_of(open_api.get(f"/cards/{theirs['card_no']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("body, field", [
    ({"member": {"external_id": "M1"}}, "batch_id"),
    ({"batch_id": "1", "member": {"external_id": "M1"}}, "batch_id"),
    ({"batch_id": 10**30, "member": {"external_id": "M1"}}, "batch_id"),
    ({"batch_id": 1}, "member"),
    ({"batch_id": 1, "member": {}}, "member.external_id"),
    ({"batch_id": 1, "member": {"external_id": "has space"}}, "member.external_id"),
    ({"batch_id": 1, "member": {"external_id": "M\u0000"}}, "member.external_id"),
    ({"batch_id": 1, "member": {"external_id": "x" * 65}}, "member.external_id"),
    ({"batch_id": 1, "member": {"external_id": "M1", "mobile": "call me"}}, "member.mobile"),
    ({"batch_id": 1, "member": {"external_id": "M1", "name": "a\u0000"}}, "member.name"),
    ({"batch_id": 1, "member": {"external_id": "M1", "vip": True}}, "member.vip"),
])
def test_bad_issue_bodies_are_400_with_the_field(open_api, body, field):
    response = open_api.post("/cards", body)
    assert field in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]


def test_issue_needs_an_idempotency_key_and_a_json_body(open_api):
    headers = {"Authorization": f"Bearer {open_api.default_key}"}
    response = open_api.client.post("/open/v1/cards", json={"batch_id": 1, "member": {"external_id": "M1"}},
                                    headers=headers)
    assert "Idempotency-Key" in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]
    response = open_api.client.post("/open/v1/cards", data="{not json", content_type="application/json",
                                    headers=open_api.headers())
    error_of(response, 400, "VALIDATION_ERROR")


def test_odd_card_numbers_in_the_path_are_404(open_api):
    for card_no in ("abc", "9" * 40, "0"):
        error_of(open_api.get(f"/cards/{card_no}"), 404, "NOT_FOUND")
    # A NUL is refused before any lookup, as in every path segment (400 naming the segment).
    assert error_of(open_api.get("/cards/6201%00"), 400, "VALIDATION_ERROR")["details"]["fields"] == {
        "card_no": "不能包含 NUL 或无效字符"}
