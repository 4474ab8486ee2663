"""Ledger posting throughput on PostgreSQL: post_journal (lock, balance check, cache update, entries)
against a same-run baseline of raw INSERTs of the same journal and entry rows.
"""

from __future__ import annotations

import time

from sqlalchemy import insert

from bench.support import fresh_database

JOURNALS = 2000


def run() -> list[dict]:
    from server import create_app

    with fresh_database() as url:
        app = create_app({"DATABASE_URL": url, "APP_ENV": "bench", "JOBS_SCHEDULE": False})
        ledger_seconds, raw_seconds = _measure(app)
    return [{
        "name": f"post_journal × {JOURNALS} (one commit each)",
        "figure": f"{JOURNALS / ledger_seconds:,.0f} journals/s",
        "baseline": f"{JOURNALS / raw_seconds:,.0f} raw inserts/s",
        "ratio": f"{raw_seconds / ledger_seconds:.2f}",
        "target": "— (tracks the cost of locking and caching)",
    }]


def _measure(app) -> tuple[float, float]:
    """Seconds for the journals through post_journal, and for as many raw journal + entry inserts."""
    from server.db import db
    from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
    from server.ledger.models import ActorType, Journal, JournalKind, LedgerEntry
    from server.ledger.services import Posting, post_journal
    from tests import factories

    with app.app_context():
        session = db.session
        merchant = factories.merchant(session)
        card = factories.card(session, factories.product(session, merchant), principal_fen=JOURNALS * 10)
        session.commit()
        m, c = merchant.id, card.id

        started = time.perf_counter()
        for _ in range(JOURNALS):
            post_journal(session, merchant_id=m, kind=JournalKind.REDEEM, actor_type=ActorType.STAFF,
                         postings=[Posting(card_account(c, CardBucket.PRINCIPAL), -10),
                                   Posting(merchant_account(m, MerchantAccount.REVENUE), 10)])
            session.commit()
        ledger_seconds = time.perf_counter() - started

        started = time.perf_counter()
        for _ in range(JOURNALS):
            journal_id = session.execute(
                insert(Journal).values(merchant_id=m, mode="live", kind="adjust", actor_type="system")
                .returning(Journal.id)
            ).scalar_one()
            session.execute(insert(LedgerEntry), [
                {"journal_id": journal_id, "merchant_id": m, "mode": "live", "account": f"merchant:{m}:revenue",
                 "bucket": "revenue", "kind": "adjust", "unit": "fen", "amount": 1},
                {"journal_id": journal_id, "merchant_id": m, "mode": "live", "account": f"merchant:{m}:refunds",
                 "bucket": "refunds", "kind": "adjust", "unit": "fen", "amount": -1},
            ])
            session.commit()
        raw_seconds = time.perf_counter() - started
    return ledger_seconds, raw_seconds
