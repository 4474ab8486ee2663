"""The summary report reconciles: Σ by_store = Σ by_day = totals; outstanding = Σ cards = Σ ledger."""

from sqlalchemy import func, select, text

from server.db import db
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind, LedgerEntry
from server.ledger.services import Posting, post_journal
from server.timeutil import shanghai_today


def _top_up(app, counter, card_id, principal, bonus):
    with app.app_context():
        m = counter.shop.merchant_id
        postings = [Posting(card_account(card_id, CardBucket.PRINCIPAL), principal),
                    Posting(merchant_account(m, MerchantAccount.WECHAT_CLEARING), -principal)]
        if bonus:
            postings += [Posting(card_account(card_id, CardBucket.BONUS), bonus),
                         Posting(merchant_account(m, MerchantAccount.PROMOTION), -bonus)]
        post_journal(db.session, merchant_id=m, kind=JournalKind.TOP_UP, actor_type=ActorType.CONSUMER,
                     postings=postings)
        db.session.commit()


def _summary(client, counter, **params):
    today = shanghai_today().isoformat()
    query = "&".join(f"{k}={v}" for k, v in {"from": today, "to": today, **params}.items())
    response = client.get(f"/api/v1/merchant/reports/summary?{query}", headers=counter.shop.headers("finance"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_mixed_workload_reconciles(client, counter, app):
    a = counter.card(principal_fen=0)
    b = counter.card(principal_fen=0)
    uses = counter.card("count", uses=10, principal_fen=5000)
    _top_up(app, counter, a, 30000, 5000)
    _top_up(app, counter, b, 10000, 0)
    r1 = counter.redeem(client, code=counter.code(a)["qr"], amount_fen=10000).get_json()  # 9000 at 90%
    counter.redeem(client, role="owner", code=counter.code(b)["qr"], amount_fen=2000,
                   store_id=counter.shop.other_store_id)  # 1600 at 80%
    counter.redeem(client, code=counter.code(uses)["qr"], uses=1)
    client.post(f"/api/v1/merchant/redemptions/{r1['redemption_id']}/reverse", json={"reason": "错单"},
                headers={**counter.shop.headers("manager"), "Idempotency-Key": "rev"})

    report = _summary(client, counter)
    assert (report["top_up_fen"], report["bonus_issued_fen"]) == (40000, 5000)
    assert report["redeemed_fen"] == 9000 + 1600 + 500
    assert report["reversed_fen"] == 9000
    assert report["redeemed_principal_fen"] + report["redeemed_bonus_fen"] == report["redeemed_fen"]
    for field in ("top_up_fen", "redeemed_fen", "reversed_fen", "redeemed_bonus_fen"):
        assert sum(row[field] for row in report["by_store"]) == report[field]
        assert sum(row[field] for row in report["by_day"]) == report[field]
    # Outstanding: the cached balances, equal to the sum of the card accounts in the ledger.
    with app.app_context():
        ledger_total = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.bucket.in_(["principal", "bonus"]), LedgerEntry.card_id.is_not(None)))
    assert report["outstanding_principal_fen"] + report["outstanding_bonus_fen"] == ledger_total
    assert report["outstanding_principal_fen"] + report["outstanding_bonus_fen"] == 35000 + 10000 - 1600 + 5000 - 500
    assert report["outstanding_uses"] == 9
    assert report["cards_issued"] == 3
    assert {row["store_id"] for row in report["by_store"]} == {counter.shop.store_id, counter.shop.other_store_id,
                                                               None}


def test_store_filter_and_store_bound_staff(client, counter):
    card = counter.card(principal_fen=5000)
    counter.redeem(client, code=counter.code(card)["qr"], amount_fen=1000)
    only_other = _summary(client, counter, store_id=counter.shop.other_store_id)
    assert only_other["redeemed_fen"] == 0
    store_manager = counter.shop.headers("manager", store_id=counter.shop.other_store_id)
    today = shanghai_today().isoformat()
    forced = client.get(f"/api/v1/merchant/reports/summary?from={today}&to={today}", headers=store_manager)
    assert forced.get_json()["store_id"] == counter.shop.other_store_id
    refused = client.get(f"/api/v1/merchant/reports/summary?store_id={counter.shop.store_id}", headers=store_manager)
    assert refused.status_code == 403


def test_cashiers_have_no_reports_and_bad_ranges_are_400(client, counter):
    assert client.get("/api/v1/merchant/reports/summary", headers=counter.shop.headers("cashier")).status_code == 403
    bad = client.get("/api/v1/merchant/reports/summary?from=2026-02-01&to=2026-01-01",
                     headers=counter.shop.headers("owner"))
    assert bad.status_code == 400 and "from" in bad.get_json()["error"]["details"]["fields"]


def test_exports_stream_csv_and_xlsx(client, counter):
    import io

    from openpyxl import load_workbook

    card = counter.card(principal_fen=5000)
    counter.redeem(client, code=counter.code(card)["qr"], amount_fen=1000)
    headers = counter.shop.headers("owner")
    csv_response = client.get("/api/v1/merchant/reports/export?section=by_store&format=csv", headers=headers)
    text = csv_response.get_data(as_text=True)
    assert csv_response.content_type.startswith("text/csv") and text.startswith("\ufeff门店,售卡收入（元）")
    # yuan with two places, Chinese headers; the JSON API keeps fen
    assert "一号店,0.00,0.00,0.00,9.00,9.00,0.00,0.00,9.00,0.00" in text and "线上（未指定门店）,50.00" in text
    xlsx = client.get("/api/v1/merchant/reports/export?section=by_day&format=xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(1, 1).value == "日期" and sheet.max_row == 31  # header + 30 default days
    assert sheet.cell(1, 5).value == "核销金额（元）" and sheet.cell(31, 5).value == 9
    assert sheet.cell(31, 5).number_format == "#,##0.00"
    channels = client.get("/api/v1/merchant/reports/export?section=by_channel&format=csv", headers=headers)
    assert channels.get_data(as_text=True).startswith(
        "\ufeff渠道,发卡数（张）,激活数（张）,已核销卡数（张）,激活率,核销率")


def test_closed_days_are_rolled_up_once_and_match_the_live_ledger(client, counter, app):
    from datetime import timedelta

    from server.db import utcnow
    from server.reports.models import LedgerDay
    from server.reports.services import last_closed_day, summary
    from server.timeutil import shanghai_today

    card = counter.card(principal_fen=0)
    _top_up(app, counter, card, 20000, 2000)
    counter.redeem(client, code=counter.code(card)["qr"], amount_fen=5000)
    with app.app_context():  # move the activity three days back, into closed days
        db.session.execute(text("UPDATE ledger_entries SET created_at = created_at - INTERVAL '3 days'")
                           if db.engine.dialect.name == "postgresql" else
                           text("UPDATE ledger_entries SET created_at = datetime(created_at, '-3 days')"))
        db.session.commit()
        first, last = shanghai_today() - timedelta(days=6), shanghai_today()
        live = summary(db.session, counter.shop.merchant_id, first, last, now=utcnow() - timedelta(days=30))
        rolled = summary(db.session, counter.shop.merchant_id, first, last)
        db.session.commit()
        again = summary(db.session, counter.shop.merchant_id, first, last)
        assert live == rolled == again
        assert rolled["top_up_fen"] == 20000 and rolled["redeemed_fen"] == 4500
        closed_days = (last_closed_day(utcnow()) - first).days + 1  # today (at least) is still open
        assert db.session.scalar(select(func.count()).select_from(LedgerDay)) == closed_days
