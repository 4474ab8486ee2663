"""Reversal of each kind, its guards, the staff card view and the redemption list."""

from datetime import timedelta

import pytest

from server.db import db, utcnow
from server.ledger.services import verify_ledger
from server.timeutil import shanghai_today


def _reverse(client, counter, redemption_id, role="manager", key="rev-1", **overrides):
    headers = {**counter.shop.headers(role, **overrides), "Idempotency-Key": key}
    return client.post(f"/api/v1/merchant/redemptions/{redemption_id}/reverse", json={"reason": "收银员输错金额"},
                       headers=headers)


@pytest.mark.parametrize(
    ("kind", "balances", "body", "restored"),
    [
        ("stored_value", {"principal_fen": 30000, "bonus_fen": 5000}, {"amount_fen": 10000},
         {"principal_fen": 30000, "bonus_fen": 5000}),
        ("count", {"uses": 5, "principal_fen": 5000}, {"uses": 2}, {"remaining_uses": 5, "principal_fen": 5000}),
        ("points", {"points": 500}, {"amount_fen": 2000, "redeem_points": 300}, {"points_balance": 500}),
        ("discount", {}, {"amount_fen": 2000}, {"balance_fen": 0}),
    ],
)
def test_reversal_restores_exactly_what_was_taken(client, counter, app, kind, balances, body, restored):
    card_id = counter.card(kind, **balances)
    receipt = counter.redeem(client, code=counter.code(card_id)["qr"], **body).get_json()
    response = _reverse(client, counter, receipt["redemption_id"])
    assert response.status_code == 200, response.get_json()
    card = response.get_json()["card"]
    assert {key: card[key] for key in restored} == restored
    assert response.get_json()["redemption"]["status"] == "reversed"
    with app.app_context():
        assert verify_ledger(db.session) == []


def test_second_reversal_is_409_and_replay_is_200(client, counter):
    card_id = counter.card(principal_fen=1000)
    redemption_id = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100).get_json()["redemption_id"]
    assert _reverse(client, counter, redemption_id, key="r-a").status_code == 200
    assert _reverse(client, counter, redemption_id, key="r-a").status_code == 200  # same key: replay
    again = _reverse(client, counter, redemption_id, key="r-b")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ALREADY_REVERSED"


def test_reversal_window(client, counter, app):
    from server.redemption.models import Redemption

    card_id = counter.card(principal_fen=1000)
    redemption_id = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100).get_json()["redemption_id"]
    with app.app_context():
        db.session.get(Redemption, redemption_id).created_at = utcnow() - timedelta(hours=49)
        db.session.commit()
    response = _reverse(client, counter, redemption_id)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "REVERSAL_WINDOW_CLOSED"


def test_cashiers_cannot_reverse_and_other_merchants_get_404(client, counter, app):
    from tests import factories

    card_id = counter.card(principal_fen=1000)
    redemption_id = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100).get_json()["redemption_id"]
    assert _reverse(client, counter, redemption_id, role="cashier").status_code == 403
    with app.app_context():
        other = factories.merchant(db.session)
        db.session.commit()
        other_id = other.id
    assert _reverse(client, counter, redemption_id, role="owner", merchant_id=other_id).status_code == 404


def test_store_manager_reverses_only_at_their_store(client, counter):
    card_id = counter.card(principal_fen=1000)
    redemption_id = counter.redeem(client, role="owner", code=counter.code(card_id)["qr"], amount_fen=100,
                                   store_id=counter.shop.other_store_id).get_json()["redemption_id"]
    response = _reverse(client, counter, redemption_id, store_id=counter.shop.store_id)
    assert response.status_code == 403


def test_staff_card_view_masks_the_holder(client, counter, app):
    from server.cards.models import Card

    card_id = counter.card(principal_fen=1234)
    with app.app_context():
        card_no = db.session.get(Card, card_id).card_no
    response = client.get(f"/api/v1/merchant/cards/{card_no}", headers=counter.shop.headers("cashier"))
    assert response.status_code == 200
    card = response.get_json()
    assert card["balance_fen"] == 1234 and card["owner"]["openid_masked"] == "o_h***nid"
    assert "o_holder_openid" not in response.get_data(as_text=True)
    other = client.get(f"/api/v1/merchant/cards/{card_no}", headers=counter.shop.headers("owner", merchant_id=0))
    assert other.status_code == 404


def test_redemption_list_filters_and_store_binding(client, counter):
    card_id = counter.card(principal_fen=100000)
    for store in (counter.shop.store_id, counter.shop.other_store_id):
        counter.redeem(client, role="owner", code=counter.code(card_id)["qr"], amount_fen=100, store_id=store)
    owner = client.get("/api/v1/merchant/redemptions", headers=counter.shop.headers("owner")).get_json()
    assert len(owner["items"]) == 2 and owner["next_cursor"] is None
    by_store = client.get(f"/api/v1/merchant/redemptions?store_id={counter.shop.other_store_id}",
                          headers=counter.shop.headers("owner")).get_json()["items"]
    assert [r["store_id"] for r in by_store] == [counter.shop.other_store_id]
    cashier = client.get("/api/v1/merchant/redemptions", headers=counter.shop.headers("cashier")).get_json()
    assert [r["store_id"] for r in cashier["items"]] == [counter.shop.store_id]
    today = shanghai_today().isoformat()  # the API counts days in Shanghai time, not UTC
    paged = client.get(f"/api/v1/merchant/redemptions?limit=1&status=completed&from=2000-01-01&to={today}",
                       headers=counter.shop.headers("owner")).get_json()
    assert len(paged["items"]) == 1 and paged["next_cursor"]
