"""expire-cards keeps prepaid balances (reactivatable) and lapses points through the ledger."""

from datetime import timedelta

from server.cards.models import Card
from server.db import db, utcnow
from server.ledger.services import verify_ledger


def test_expiry_keeps_prepaid_balance_and_lapses_points(app, counter, client):
    stored = counter.card(principal_fen=5000, bonus_fen=500)
    points = counter.card("points", points=120)
    fresh = counter.card(principal_fen=100)
    with app.app_context():
        for card_id in (stored, points):
            db.session.get(Card, card_id).expires_at = utcnow() - timedelta(days=1)
        db.session.get(Card, fresh).expires_at = utcnow() + timedelta(days=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["expire-cards"])
    assert result.exit_code == 0 and "expired 2 card(s); 120 point(s) lapsed" in result.output
    with app.app_context():
        card = db.session.get(Card, stored)
        assert (card.status, card.principal_fen, card.bonus_fen) == ("expired", 5000, 500)
        assert (db.session.get(Card, points).points, db.session.get(Card, fresh).status) == (0, "active")
        assert verify_ledger(db.session) == []
        card_no = card.card_no

    refused = counter.redeem(client, code=f"{card_no}:246810", amount_fen=100)
    assert refused.get_json()["error"]["code"] == "CARD_EXPIRED"
    assert client.post(f"/api/v1/merchant/cards/{card_no}/reactivate",
                       headers=counter.shop.headers("cashier")).status_code == 403
    revived = client.post(f"/api/v1/merchant/cards/{card_no}/reactivate", headers=counter.shop.headers("manager"))
    assert revived.status_code == 200 and revived.get_json()["status"] == "active"
    assert revived.get_json()["balance_fen"] == 5500
    assert counter.redeem(client, code=f"{card_no}:246810", amount_fen=100).status_code == 200
    again = client.post(f"/api/v1/merchant/cards/{card_no}/reactivate", headers=counter.shop.headers("manager"))
    assert again.status_code == 409
