"""Ledger posting throughput: post_journal (lock, balance check, cache update, entries) against a
same-run baseline of raw INSERTs of the same number of entry rows. Set BENCH_DATABASE_URL for PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile
import time

from sqlalchemy import insert

JOURNALS = 2000


def run() -> list[dict]:
    from server import create_app
    from server.db import db
    from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
    from server.ledger.models import ActorType, Journal, JournalKind, LedgerEntry
    from server.ledger.services import Posting, post_journal
    from tests import factories

    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url, "APP_ENV": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
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
                insert(Journal).values(merchant_id=m, kind="adjust", actor_type="system").returning(Journal.id)
            ).scalar_one()
            session.execute(insert(LedgerEntry), [
                {"journal_id": journal_id, "merchant_id": m, "account": f"merchant:{m}:revenue", "bucket": "revenue",
                 "kind": "adjust", "unit": "fen", "amount": 1},
                {"journal_id": journal_id, "merchant_id": m, "account": f"merchant:{m}:refunds", "bucket": "refunds",
                 "kind": "adjust", "unit": "fen", "amount": -1},
            ])
            session.commit()
        raw_seconds = time.perf_counter() - started
        db.drop_all()

    return [{
        "name": f"post_journal × {JOURNALS} (one commit each)",
        "figure": f"{JOURNALS / ledger_seconds:,.0f} journals/s",
        "baseline": f"{JOURNALS / raw_seconds:,.0f} raw inserts/s",
        "ratio": f"{raw_seconds / ledger_seconds:.2f}",
        "target": "— (tracks the cost of locking and caching)",
    }]
