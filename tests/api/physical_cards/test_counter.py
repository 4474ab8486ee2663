"""At the counter: activation of a printed card, binding it in the mini-program, report-lost and replacement."""

from __future__ import annotations

from sqlalchemy import select

from server.cards.models import Card
from server.db import db
from server.ledger.models import Journal, LedgerEntry
from server.ledger.services import verify_ledger
from server.timeutil import shanghai_today
from server.webhooks.events import EVENT_TYPES
from server.webhooks.models import WebhookEvent
from tests import issuance_support as support
from tests.api.physical_cards.conftest import (
    PRICE_FEN,
    activate,
    create_physical_batch,
    error,
    key,
    printed_cards,
    redeem,
)
from tests.webhooks.support import create_webhook


def _entries(app, card_no: str) -> list[tuple[str, int]]:
    with app.app_context():
        card = db.session.scalar(select(Card).where(Card.card_no == card_no))
        journal = db.session.scalar(select(Journal).where(Journal.ref_type == "card", Journal.ref_id == card.id))
        return sorted((e.account.split(":", 2)[2], e.amount) for e in journal.entries)


def _card(app, card_no: str) -> Card:
    with app.app_context():
        card = db.session.scalar(select(Card).where(Card.card_no == card_no))
        db.session.expunge(card)
        return card


def _bind(client, issue_token, card_no: str, secret: str, consumer_id: int | None = None):
    consumer_id = consumer_id or support.consumer(client.application)
    headers = support.consumer_headers(issue_token, consumer_id)
    return client.post("/api/v1/mp/cards/bind", json={"code": f"{card_no}:{secret}"}, headers=headers), headers


# --- activation --------------------------------------------------------------------------------------


def test_activation_opens_the_card_as_a_purchase_would_from_the_till(app, client, shop, printed):
    card_no, secret = printed.cards[0]
    response = activate(client, shop, card_no)
    assert response.status_code == 200, response.get_json()
    card = response.get_json()
    assert (card["status"], card["principal_fen"], card["bonus_fen"], card["card_no"]) == (
        "active", PRICE_FEN, 10000 - PRICE_FEN, card_no)
    assert card["activated_at"] is not None
    assert _entries(app, card_no) == sorted([("principal", PRICE_FEN), ("till_clearing", -PRICE_FEN),
                                             ("bonus", 2000), ("promotion", -2000)])
    with app.app_context():
        assert verify_ledger(db.session) == []
        journal = db.session.scalar(select(Journal).where(Journal.kind == "issue", Journal.ref_type == "card"))
        assert journal.store_id == shop.store_id
    today = shanghai_today().isoformat()
    report = client.get(f"/api/v1/merchant/reports/summary?from={today}&to={today}", headers=shop.headers()).get_json()
    assert (report["cards_issued"], report["bonus_issued_fen"]) == (1, 2000)  # unsold printed cards don't count
    assert (report["outstanding_principal_fen"], report["outstanding_bonus_fen"]) == (PRICE_FEN, 2000)
    assert [s["bonus_issued_fen"] for s in report["by_store"] if s["store_id"] == shop.store_id] == [2000]
    assert redeem(client, shop, card_no, secret, 1000).status_code == 200


def test_activating_twice_is_a_state_conflict(client, shop, printed):
    card_no = printed.cards[0][0]
    assert activate(client, shop, card_no).status_code == 200
    assert error(activate(client, shop, card_no)) == (409, "STATE_CONFLICT")


def test_a_repeated_activation_under_one_key_replays_the_answer(client, shop, printed):
    card_no, same_key = printed.cards[0][0], key()
    first = activate(client, shop, card_no, headers=same_key)
    again = activate(client, shop, card_no, headers=same_key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json() == again.get_json()


def test_paid_amount_must_be_the_batch_price(app, client, shop, printed):
    card_no = printed.cards[0][0]
    for paid in (PRICE_FEN - 1, PRICE_FEN + 100, 0):
        response = activate(client, shop, card_no, paid_fen=paid)
        assert error(response) == (422, "AMOUNT_NOT_ALLOWED")
        assert response.get_json()["error"]["details"] == {"price_fen": PRICE_FEN, "paid_fen": paid}
    assert _card(app, card_no).status == "inactive"


def test_activation_needs_an_idempotency_key_and_a_store_of_ones_own(client, shop, printed):
    card_no = printed.cards[0][0]
    assert error(activate(client, shop, card_no, headers={})) == (400, "VALIDATION_ERROR")
    response = client.post(f"/api/v1/merchant/cards/{card_no}/activate", headers={**shop.headers("cashier"), **key()},
                           json={"store_id": shop.other_store_id, "paid_fen": PRICE_FEN})
    assert error(response) == (403, "FORBIDDEN")  # a cashier sells at their own store only
    assert error(activate(client, shop, "6201000000000000")) == (404, "NOT_FOUND")
    assert error(activate(client, shop, card_no, role="finance")) == (403, "FORBIDDEN")


def test_an_inactive_card_redeems_nothing_and_cannot_be_bound(client, shop, printed, issue_token):
    card_no, secret = printed.cards[0]
    assert error(redeem(client, shop, card_no, secret)) == (422, "CARD_NOT_ACTIVE")
    response, _ = _bind(client, issue_token, card_no, secret)
    assert error(response) == (422, "CODE_INVALID")


# --- binding -----------------------------------------------------------------------------------------


def test_a_sold_card_binds_to_the_first_consumer_with_its_secret(app, client, shop, printed, issue_token):
    card_no, secret = printed.cards[0]
    activate(client, shop, card_no)
    wrong, _ = _bind(client, issue_token, card_no, "000000000000" if secret != "000000000000" else "1")
    assert error(wrong) == (422, "CODE_INVALID")
    consumer_id = support.consumer(app)
    response, headers = _bind(client, issue_token, card_no, secret, consumer_id)
    assert response.status_code == 201, response.get_json()
    card = response.get_json()
    assert (card["status"], card["principal_fen"], card["product"]["named"]) == ("active", PRICE_FEN, True)
    assert _card(app, card_no).owner_id == consumer_id
    assert [c["card_id"] for c in client.get("/api/v1/mp/cards", headers=headers).get_json()["items"]] == [
        card["card_id"]]
    again, _ = _bind(client, issue_token, card_no, secret)
    assert error(again) == (422, "CODE_INVALID")  # somebody holds it already


# --- report-lost and replacement --------------------------------------------------------------------


def _sold_and_bound(app, client, shop, printed, issue_token, index: int = 0):
    card_no, secret = printed.cards[index]
    activate(client, shop, card_no)
    consumer_id = support.consumer(app)
    response, headers = _bind(client, issue_token, card_no, secret, consumer_id)
    return card_no, secret, consumer_id, headers, response.get_json()["card_id"]


def test_the_holder_reports_the_card_lost_and_it_redeems_nothing(app, client, shop, printed, issue_token):
    card_no, secret, _, headers, card_id = _sold_and_bound(app, client, shop, printed, issue_token)
    stranger = support.consumer_headers(issue_token, support.consumer(app))
    assert error(client.post(f"/api/v1/mp/cards/{card_id}/report-lost", headers=stranger)) == (404, "NOT_FOUND")
    response = client.post(f"/api/v1/mp/cards/{card_id}/report-lost", headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "frozen"
    assert error(redeem(client, shop, card_no, secret)) == (422, "CARD_NOT_ACTIVE")
    again = client.post(f"/api/v1/merchant/cards/{card_no}/report-lost", headers=shop.headers("cashier"))
    assert error(again) == (409, "STATE_CONFLICT")


def test_staff_report_a_card_lost_at_the_counter(client, shop, printed):
    card_no, secret = printed.cards[0]
    activate(client, shop, card_no)
    response = client.post(f"/api/v1/merchant/cards/{card_no}/report-lost", headers=shop.headers("cashier"))
    assert response.status_code == 200 and response.get_json()["status"] == "frozen"
    assert error(redeem(client, shop, card_no, secret)) == (422, "CARD_NOT_ACTIVE")


def test_unnamed_cards_are_neither_reported_lost_nor_replaced(app, client, shop, issue_token):
    unnamed = create_physical_batch(app, client, shop, named=False)
    card_no, secret = unnamed.cards[0]
    activate(client, shop, card_no)
    response, headers = _bind(client, issue_token, card_no, secret)
    card_id = response.get_json()["card_id"]
    assert response.get_json()["product"]["named"] is False  # the legal caps follow the product
    assert error(client.post(f"/api/v1/mp/cards/{card_id}/report-lost", headers=headers)) == (422, "NOT_NAMED")
    assert error(client.post(f"/api/v1/merchant/cards/{card_no}/report-lost", headers=shop.headers())) == (
        422, "NOT_NAMED")
    replaced = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={}, headers={**shop.headers(), **key()})
    assert error(replaced) == (422, "NOT_NAMED")


def test_replacement_moves_every_balance_to_a_fresh_card_of_the_holder(app, client, shop, printed, issue_token):
    card_no, secret, consumer_id, headers, card_id = _sold_and_bound(app, client, shop, printed, issue_token)
    assert redeem(client, shop, card_no, secret, 1500).status_code == 200
    before = _card(app, card_no)
    client.post(f"/api/v1/mp/cards/{card_id}/report-lost", headers=headers)
    response = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={}, headers={**shop.headers(), **key()})
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["card_no"] != card_no and new["status"] == "active"
    assert (new["principal_fen"], new["bonus_fen"], new["points"], new["remaining_uses"]) == (
        before.principal_fen, before.bonus_fen, before.points, before.uses_remaining)
    old, fresh = _card(app, card_no), _card(app, new["card_no"])
    assert (old.status, old.principal_fen, old.bonus_fen) == ("replaced", 0, 0)
    assert (fresh.owner_id, fresh.replaces_card_id, fresh.product_id) == (consumer_id, old.id, old.product_id)
    assert fresh.secret_encrypted != old.secret_encrypted
    with app.app_context():
        journals = db.session.scalars(select(Journal).where(Journal.kind == "replace")).all()
        assert len(journals) == 1
        assert sorted((e.card_id, e.bucket, e.amount) for e in journals[0].entries) == sorted([
            (old.id, "principal", -before.principal_fen), (fresh.id, "principal", before.principal_fen),
            (old.id, "bonus", -before.bonus_fen), (fresh.id, "bonus", before.bonus_fen)])
        assert verify_ledger(db.session) == []
        assert db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == "replace",
                                                              LedgerEntry.card_id.is_(None))) is None
    mine = client.get("/api/v1/mp/cards", headers=headers).get_json()["items"]
    assert {c["card_id"]: c["status"] for c in mine} == {card_id: "replaced", fresh.id: "active"}
    assert error(redeem(client, shop, card_no, secret)) == (422, "CARD_NOT_ACTIVE")
    again = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={}, headers={**shop.headers(), **key()})
    assert error(again) == (409, "STATE_CONFLICT")


def test_replacement_hands_over_a_printed_card_from_stock(app, client, shop, printed, issue_token):
    card_no, _, consumer_id, _, _ = _sold_and_bound(app, client, shop, printed, issue_token)
    stock_no, stock_secret = printed.cards[1]
    response = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={"new_card_no": stock_no},
                           headers={**shop.headers("manager"), **key()})
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["card_no"], response.get_json()["principal_fen"]) == (stock_no, PRICE_FEN)
    stock = _card(app, stock_no)
    assert (stock.status, stock.owner_id, stock.bonus_fen) == ("active", consumer_id, 2000)
    assert _card(app, card_no).status == "replaced"
    assert redeem(client, shop, stock_no, stock_secret, 500).status_code == 200
    with app.app_context():
        assert verify_ledger(db.session) == []


def test_a_stock_card_must_be_an_inactive_card_of_the_same_product(app, client, shop, printed, issue_token):
    card_no = _sold_and_bound(app, client, shop, printed, issue_token)[0]
    sold_no = printed.cards[1][0]
    activate(client, shop, sold_no)
    other = create_physical_batch(app, client, shop, quantity=1)
    for new_card_no in (sold_no, other.cards[0][0]):
        response = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={"new_card_no": new_card_no},
                               headers={**shop.headers(), **key()})
        assert error(response) == (409, "STATE_CONFLICT")
    assert _card(app, card_no).status == "active"
    assert printed_cards(app, other.batch_id) == other.cards


def test_cashiers_report_lost_but_do_not_replace(client, shop, printed):
    card_no = printed.cards[0][0]
    activate(client, shop, card_no)
    response = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={},
                           headers={**shop.headers("cashier"), **key()})
    assert error(response) == (403, "FORBIDDEN")


def test_an_expired_card_is_replaced_with_its_balance_valid_again(app, client, shop, printed):
    from datetime import timedelta

    from server.cards.expiry import expire_cards
    from server.db import utcnow

    card_no = printed.cards[0][0]
    activate(client, shop, card_no)
    with app.app_context():
        card = db.session.scalar(select(Card).where(Card.card_no == card_no))
        card.expires_at = utcnow() - timedelta(days=1)
        expire_cards(db.session, utcnow())
        db.session.commit()
    assert _card(app, card_no).status == "expired"
    response = client.post(f"/api/v1/merchant/cards/{card_no}/replace", json={}, headers={**shop.headers(), **key()})
    assert response.status_code == 201, response.get_json()
    fresh = _card(app, response.get_json()["card_no"])
    assert (fresh.status, fresh.principal_fen, fresh.bonus_fen) == ("active", PRICE_FEN, 2000)
    assert fresh.expires_at is None  # a permanent product: valid again for good, as a reactivation would be
    with app.app_context():
        assert verify_ledger(db.session) == []


def test_selling_and_binding_a_printed_card_tell_the_merchants_systems(
        app, client, shop, printed, issue_token, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_AFTER_COMMIT", False)  # recorded, not sent
    create_webhook(client, shop, "https://erp.example.com/hooks", events=list(EVENT_TYPES))
    card_no, secret = printed.cards[0]
    assert activate(client, shop, card_no).status_code == 200
    assert _bind(client, issue_token, card_no, secret)[0].status_code == 201
    with app.app_context():
        events = [(event.type, event.data["card"]["card_no"]) for event in
                  db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
    assert events == [("card.issued", card_no), ("card.bound", card_no)]
