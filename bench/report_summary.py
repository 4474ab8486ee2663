"""The summary report over 1,000,000 ledger entries on PostgreSQL, next to a same-run baseline of
one plain aggregate (SUM of every entry of the merchant). The first call rolls the closed days up
(server/reports/models.py); later calls read the roll-ups and scan only today's entries.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text

from bench.support import fresh_database, seed_cards

ENTRIES = 1_000_000
DAYS = 90
RUNS = 7


def _load_entries(url: str, merchant_id: int, card_ids: list[int], store_ids: list[int]) -> None:
    """COPY journals and their two entries each, spread over the last DAYS days."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        first_journal = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM journals").fetchone()[0]
        journals = ENTRIES // 2
        with conn.cursor().copy("COPY journals (id, merchant_id, kind, actor_type, store_id, created_at) "
                                "FROM STDIN") as copy:
            for n in range(journals):
                kind = "redeem" if n % 3 else "top_up"
                moment = now - timedelta(seconds=rng.randrange(DAYS * 86400))
                copy.write_row((first_journal + n, merchant_id, kind, "staff",
                                rng.choice(store_ids) if kind == "redeem" else None, moment))
        rows = conn.execute("SELECT id, kind, store_id, created_at FROM journals WHERE id >= %s",
                            (first_journal,)).fetchall()
        with conn.cursor().copy("COPY ledger_entries (journal_id, merchant_id, account, bucket, kind, store_id, "
                                "card_id, unit, amount, created_at) FROM STDIN") as copy:
            for journal_id, kind, store_id, moment in rows:
                card = rng.choice(card_ids)
                bucket = "principal" if rng.random() < 0.8 else "bonus"
                amount = rng.randrange(100, 10000)
                sign = 1 if kind == "top_up" else -1
                counterpart = "wechat_clearing" if kind == "top_up" else "revenue"
                copy.write_row((journal_id, merchant_id, f"card:{card}:{bucket}", bucket, kind, store_id, card,
                                "fen", sign * amount, moment))
                copy.write_row((journal_id, merchant_id, f"merchant:{merchant_id}:{counterpart}", counterpart, kind,
                                store_id, None, "fen", -sign * amount, moment))
        conn.execute("ANALYZE ledger_entries")
        conn.execute("ANALYZE journals")


def _median_ms(action) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run() -> list[dict]:
    from server import create_app
    from server.db import db
    from server.reports.services import summary
    from server.timeutil import shanghai_today
    from tests import factories

    with fresh_database() as url:
        counter = seed_cards(url, 1000, principal_fen=1)
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            merchant = db.session.get(factories.Merchant, counter.merchant_id)
            stores = [factories.store(db.session, merchant).id for _ in range(2)] + [counter.store_id]
            db.session.commit()
            card_ids = list(db.session.scalars(text("SELECT id FROM cards")))
        _load_entries(url.replace("postgresql://", "postgres://", 1), counter.merchant_id, card_ids, stores)
        with app.app_context():
            total = db.session.scalar(text("SELECT count(*) FROM ledger_entries"))
            last = shanghai_today()
            first = last - timedelta(days=29)
            started = time.perf_counter()
            summary(db.session, counter.merchant_id, first, last)  # rolls up the closed days, once
            db.session.commit()
            cold_ms = (time.perf_counter() - started) * 1000
            report_ms = _median_ms(lambda: summary(db.session, counter.merchant_id, first, last))
            baseline_ms = _median_ms(lambda: db.session.scalar(
                text("SELECT sum(amount) FROM ledger_entries WHERE merchant_id = :m"), {"m": counter.merchant_id}))
    return [{
        "name": f"summary report, 30 days, over {total:,} ledger entries (median of {RUNS})",
        "figure": f"{report_ms:.0f} ms (first call, rolling up 29 closed days: {cold_ms:.0f} ms)",
        "baseline": f"SUM over all entries {baseline_ms:.0f} ms",
        "ratio": f"{baseline_ms / report_ms:.2f}",
        "target": "≤ 300 ms",
    }]
