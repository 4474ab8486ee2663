"""Card-sale income, net redemptions and channel effectiveness reconcile with the ledger: Σ by_channel
= Σ by_store = Σ by_day = totals = the ledger's own entries; rates and costs follow from the counts."""

from __future__ import annotations

from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db, utcnow
from server.ledger.models import JournalKind, LedgerEntry
from server.products.models import CardProduct
from server.timeutil import shanghai_today
from tests import factories, issuance_support


def _summary(client, counter, **params):
    today = shanghai_today().isoformat()
    query = "&".join(f"{k}={v}" for k, v in {"from": today, "to": today, **params}.items())
    response = client.get(f"/api/v1/merchant/reports/summary?{query}", headers=counter.shop.headers("finance"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _cards(app, counter, batch_id: int, paid_fen: int, count: int, *, activated: bool = True) -> list[int]:
    """Cards sold from a batch (the price booked as principal from WeChat clearing, as issue_card does)."""
    with app.app_context():
        product = db.session.get(CardProduct, counter.product_ids["stored_value"])
        ids = [factories.card(db.session, product, principal_fen=paid_fen, batch_id=batch_id,
                              activated_at=utcnow() if activated else None).id for _ in range(count)]
        db.session.commit()
        return ids


def _membership_fee(app, counter, batch_id: int, paid_fen: int) -> int:
    """A discount card sold for a fee: clearing → revenue under the card's opening journal."""
    from server.ledger.accounts import MerchantAccount, merchant_account
    from server.ledger.models import ActorType
    from server.ledger.services import Posting, post_journal
    with app.app_context():
        product = db.session.get(CardProduct, counter.product_ids["discount"])
        card = factories.card(db.session, product, batch_id=batch_id, activated_at=utcnow())
        m = counter.shop.merchant_id
        post_journal(db.session, merchant_id=m, kind=JournalKind.ISSUE, actor_type=ActorType.SYSTEM,
                     ref_type="card", ref_id=card.id, postings=[
                         Posting(merchant_account(m, MerchantAccount.WECHAT_CLEARING), -paid_fen),
                         Posting(merchant_account(m, MerchantAccount.REVENUE), paid_fen)])
        db.session.commit()
        return card.id


def test_channels_show_activation_redemption_rate_and_cost_per_active_card(app, client, counter):
    m = counter.shop.merchant_id
    street = issuance_support.channel(app, m, name="地推", kind="offline", cost_per_card_fen=250)
    online = issuance_support.channel(app, m, name="小程序", kind="miniprogram")
    street_batch = issuance_support.batch(app, m, counter.product_ids["stored_value"], channel_id=street)
    online_batch = issuance_support.batch(app, m, counter.product_ids["stored_value"], channel_id=online)
    street_cards = _cards(app, counter, street_batch, 5000, 3) + _cards(app, counter, street_batch, 5000, 1,
                                                                          activated=False)
    online_cards = _cards(app, counter, online_batch, 10000, 2)
    _membership_fee(app, counter, online_batch, 990)
    counter.card(principal_fen=700)  # a card of no batch: 未指定渠道

    first = counter.redeem(client, code=counter.code(street_cards[0])["qr"], amount_fen=1000).get_json()
    counter.redeem(client, code=counter.code(street_cards[0])["qr"], amount_fen=1000)  # same card twice
    counter.redeem(client, code=counter.code(online_cards[1])["qr"], amount_fen=2000)
    client.post(f"/api/v1/merchant/redemptions/{first['redemption_id']}/reverse", json={"reason": "错单"},
                headers={**counter.shop.headers("manager"), "Idempotency-Key": "rev-1"})

    report = _summary(client, counter)
    rows = {row["name"]: row for row in report["by_channel"]}
    street_row, online_row = rows["地推"], rows["小程序"]
    assert (street_row["cards_issued"], street_row["cards_activated"], street_row["cards_redeemed"]) == (4, 3, 1)
    assert (street_row["activation_rate_bp"], street_row["redemption_rate_bp"]) == (7500, 2500)
    assert (street_row["channel_cost_fen"], street_row["cost_per_active_card_fen"]) == (1000, 333)
    assert (online_row["cards_issued"], online_row["cards_redeemed"], online_row["redemption_rate_bp"]) == (3, 1, 3333)
    assert online_row["cost_per_card_fen"] is None and online_row["cost_per_active_card_fen"] is None
    assert street_row["card_sale_fen"] == 4 * 5000 and online_row["card_sale_fen"] == 2 * 10000 + 990
    assert rows["未指定渠道"]["card_sale_fen"] == 700 and rows["未指定渠道"]["cards_issued"] == 1

    # Totals: card sales are what WeChat Pay took for cards — the ledger's own clearing legs.
    with app.app_context():
        ledger_sales = -db.session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.merchant_id == m, LedgerEntry.kind == JournalKind.ISSUE,
            LedgerEntry.bucket == "wechat_clearing"))
    assert report["card_sale_fen"] == ledger_sales == 20000 + 20990 + 700
    assert report["redeemed_fen"] == 900 + 900 + 1800 and report["reversed_fen"] == 900
    assert report["net_redeemed_fen"] == report["redeemed_fen"] - report["reversed_fen"] == 2700
    for field in ("card_sale_fen", "redeemed_fen", "net_redeemed_fen", "top_up_fen"):
        assert sum(row[field] for row in report["by_channel"]) == report[field], field
        assert sum(row[field] for row in report["by_store"]) == report[field], field
        assert sum(row[field] for row in report["by_day"]) == report[field], field
    assert sum(row["cards_issued"] for row in report["by_channel"]) == report["cards_issued"]


def test_card_sales_of_closed_days_come_from_the_roll_ups_too(app, client, counter):
    from datetime import timedelta

    from sqlalchemy import text

    from server.reports.services import summary

    counter.card(principal_fen=4200)
    with app.app_context():
        db.session.execute(text("UPDATE ledger_entries SET created_at = created_at - INTERVAL '3 days'")
                           if db.engine.dialect.name == "postgresql" else
                           text("UPDATE ledger_entries SET created_at = datetime(created_at, '-3 days')"))
        db.session.execute(text("UPDATE cards SET created_at = created_at - INTERVAL '3 days'")
                           if db.engine.dialect.name == "postgresql" else
                           text("UPDATE cards SET created_at = datetime(created_at, '-3 days')"))
        db.session.commit()
        first, last = shanghai_today() - timedelta(days=6), shanghai_today()
        rolled = summary(db.session, counter.shop.merchant_id, first, last)
        db.session.commit()
        again = summary(db.session, counter.shop.merchant_id, first, last)
        assert rolled == again and rolled["card_sale_fen"] == 4200
        assert sum(row["card_sale_fen"] for row in rolled["by_channel"]) == 4200
        assert db.session.scalar(select(func.count(Card.id)).where(Card.merchant_id == counter.shop.merchant_id)) == 1
