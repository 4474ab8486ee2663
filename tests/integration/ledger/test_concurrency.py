"""Concurrent debits of one card on PostgreSQL: exactly the affordable number succeed."""

import threading

import pytest

from server.db import db
from server.errors import InsufficientBalance
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal, verify_ledger
from tests import factories

pytestmark = pytest.mark.postgres

THREADS = 50
DEBIT_FEN = 300
OPENING_FEN = 4000  # affords 13 debits of 300, leaving 100


def test_fifty_threads_debiting_one_card(app):
    with app.app_context():
        merchant = factories.merchant(db.session)
        card = factories.card(db.session, factories.product(db.session, merchant), principal_fen=OPENING_FEN)
        db.session.commit()
        card_id, merchant_id = card.id, merchant.id
        db.session.remove()

    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def debit() -> None:
        with app.app_context():
            barrier.wait()
            try:
                post_journal(
                    db.session, merchant_id=merchant_id, kind=JournalKind.REDEEM, actor_type=ActorType.STAFF,
                    postings=[Posting(card_account(card_id, CardBucket.PRINCIPAL), -DEBIT_FEN),
                              Posting(merchant_account(merchant_id, MerchantAccount.REVENUE), DEBIT_FEN)],
                )
                db.session.commit()
                result = "ok"
            except InsufficientBalance:
                db.session.rollback()
                result = "insufficient"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=debit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == OPENING_FEN // DEBIT_FEN
    assert outcomes.count("insufficient") == THREADS - OPENING_FEN // DEBIT_FEN
    with app.app_context():
        from server.cards.models import Card

        assert db.session.get(Card, card_id).principal_fen == OPENING_FEN % DEBIT_FEN
        assert verify_ledger(db.session) == []
