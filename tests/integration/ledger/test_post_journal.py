"""The ledger service against the database: cached balances move with the entries, never below zero."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from server.cards.models import Card
from server.errors import InsufficientBalance, InsufficientUses
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, Journal, JournalKind, LedgerEntry
from server.ledger.services import (
    Posting,
    UnbalancedJournal,
    card_balances_from_ledger,
    post_journal,
    reverse_journal,
    verify_ledger,
)
from tests import factories


@pytest.fixture
def shop(session):
    merchant = factories.merchant(session)
    return merchant, factories.product(session, merchant)


def _redeem(session, card, principal=0, bonus=0, uses=0):
    m = card.merchant_id
    postings = []
    if principal:
        postings += [Posting(card_account(card.id, CardBucket.PRINCIPAL), -principal)]
    if bonus:
        postings += [Posting(card_account(card.id, CardBucket.BONUS), -bonus)]
    if principal or bonus:
        postings += [Posting(merchant_account(m, MerchantAccount.REVENUE), principal + bonus)]
    if uses:
        postings += [
            Posting(card_account(card.id, CardBucket.USES), -uses),
            Posting(merchant_account(m, MerchantAccount.USES_REDEEMED), uses),
        ]
    return post_journal(session, merchant_id=m, kind=JournalKind.REDEEM, postings=postings,
                        actor_type=ActorType.STAFF, actor_id=1)


def test_top_up_credits_principal_and_bonus_separately(session, shop):
    card = factories.card(session, shop[1], principal_fen=30000, bonus_fen=5000)
    assert (card.principal_fen, card.bonus_fen, card.balance_fen) == (30000, 5000, 35000)
    assert card_balances_from_ledger(session, card.id).bonus_fen == 5000


def test_redemption_takes_principal_and_bonus_and_records_balance_after(session, shop):
    card = factories.card(session, shop[1], principal_fen=30000, bonus_fen=5000)
    journal = _redeem(session, card, principal=8572, bonus=1428)
    assert (card.principal_fen, card.bonus_fen) == (21428, 3572)
    after = {e.account: e.balance_after for e in journal.entries}
    assert after[card_account(card.id, CardBucket.PRINCIPAL)] == 21428
    assert after[merchant_account(card.merchant_id, MerchantAccount.REVENUE)] is None
    assert verify_ledger(session) == []


def test_overdraft_is_refused_and_changes_nothing(session, shop):
    card = factories.card(session, shop[1], principal_fen=1000)
    journals_before = session.scalar(select(Journal.id).order_by(Journal.id.desc()).limit(1))
    with pytest.raises(InsufficientBalance) as info:
        _redeem(session, card, principal=1001)
    assert info.value.details == {"card_id": card.id, "available": 1000, "requested": 1001}
    session.rollback()
    assert session.get(Card, card.id) is None or session.get(Card, card.id).principal_fen == 1000
    assert session.scalar(select(Journal.id).order_by(Journal.id.desc()).limit(1)) in (None, journals_before)


def test_a_refused_leg_leaves_the_others_unwritten(session, shop):
    card = factories.card(session, shop[1], principal_fen=1000, bonus_fen=100)
    with pytest.raises(InsufficientBalance):
        _redeem(session, card, principal=500, bonus=200)  # principal fits, bonus does not
    assert (card.principal_fen, card.bonus_fen) == (1000, 100)
    _redeem(session, card, principal=100)  # the caller carries on in the same transaction
    assert card_balances_from_ledger(session, card.id).principal_fen == card.principal_fen == 900
    assert verify_ledger(session) == []


def test_a_rolled_back_savepoint_takes_the_balances_it_wrote_with_it(session, shop):
    card = factories.card(session, shop[1], principal_fen=1000)
    session.commit()
    with pytest.raises(RuntimeError), session.begin_nested():
        _redeem(session, card, principal=300)
        raise RuntimeError("the rest of the savepoint's work failed")
    assert card.principal_fen == 1000
    _redeem(session, card, principal=100)
    session.commit()
    assert card_balances_from_ledger(session, card.id).principal_fen == card.principal_fen == 900
    assert verify_ledger(session) == []


def test_count_card_cannot_go_below_zero_uses(session, shop):
    card = factories.card(session, shop[1], uses=1)
    _redeem(session, card, uses=1)
    with pytest.raises(InsufficientUses):
        _redeem(session, card, uses=1)


def test_unbalanced_journal_is_refused_before_touching_the_card(session, shop):
    card = factories.card(session, shop[1], principal_fen=500)
    with pytest.raises(UnbalancedJournal):
        post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.ADJUST, actor_type=ActorType.SYSTEM,
                     postings=[Posting(card_account(card.id, CardBucket.PRINCIPAL), -100),
                               Posting(merchant_account(card.merchant_id, MerchantAccount.REVENUE), 99)])
    assert card.principal_fen == 500


def test_journal_cannot_book_to_another_merchants_accounts(session, shop):
    card = factories.card(session, shop[1], principal_fen=500)
    other = factories.merchant(session)
    with pytest.raises(UnbalancedJournal, match="another merchant"):
        post_journal(session, merchant_id=other.id, kind=JournalKind.REDEEM, actor_type=ActorType.SYSTEM,
                     postings=[Posting(card_account(card.id, CardBucket.PRINCIPAL), -100),
                               Posting(merchant_account(other.id, MerchantAccount.REVENUE), 100)])


def test_reversal_restores_exactly_and_only_once(session, shop):
    card = factories.card(session, shop[1], principal_fen=10000, bonus_fen=2000, uses=5)
    journal = _redeem(session, card, principal=3000, bonus=600, uses=2)
    reversal = reverse_journal(session, journal, actor_type=ActorType.STAFF, actor_id=2)
    assert (card.principal_fen, card.bonus_fen, card.uses_remaining) == (10000, 2000, 5)
    assert sorted(e.amount for e in reversal.entries) == sorted(-e.amount for e in journal.entries)
    assert verify_ledger(session) == []
    with pytest.raises(IntegrityError):
        reverse_journal(session, journal, actor_type=ActorType.STAFF, actor_id=2)


def test_idempotency_key_books_a_business_event_once_per_merchant(session, shop):
    card = factories.card(session, shop[1], principal_fen=10000)
    legs = [Posting(card_account(card.id, CardBucket.PRINCIPAL), -100),
            Posting(merchant_account(card.merchant_id, MerchantAccount.REVENUE), 100)]
    kwargs = dict(merchant_id=card.merchant_id, kind=JournalKind.REDEEM, postings=legs,
                  actor_type=ActorType.STAFF, idempotency_key="redeem:abc")
    post_journal(session, **kwargs)
    with pytest.raises(IntegrityError):
        post_journal(session, **kwargs)


def test_verify_ledger_finds_a_tampered_cache_and_an_unbalanced_journal(session, shop):
    card = factories.card(session, shop[1], principal_fen=10000)
    session.commit()
    session.execute(text("UPDATE cards SET principal_fen = 99999 WHERE id = :id"), {"id": card.id})
    journal_id = session.scalar(select(LedgerEntry.journal_id).where(LedgerEntry.card_id == card.id))
    session.execute(text("UPDATE ledger_entries SET amount = amount + 1 WHERE journal_id = :j AND card_id IS NULL"),
                    {"j": journal_id})
    drifts = {(d.kind, d.ref_id): d.detail for d in verify_ledger(session)}
    assert "principal_fen: cached 99999 ≠ ledger 10000" in drifts[("card_balance", card.id)]
    assert ("unbalanced_journal", journal_id) in drifts


def test_database_refuses_a_negative_cached_balance(session, shop):
    card = factories.card(session, shop[1], principal_fen=100)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE cards SET principal_fen = -1 WHERE id = :id"), {"id": card.id})
        session.flush()
