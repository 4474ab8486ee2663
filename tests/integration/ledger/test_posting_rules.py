"""The posting rules an auditor relies on: a merchant books only to its own accounts and cards, a card
that does not exist is not found, several legs on one account add up, a reversal keeps who/where/what
of the journal it undoes, a card with no entries at all balances at zero, and the balance shown after
each redemption is what the card held then, with nothing in the buckets it never had."""

import pytest

from server.errors import InsufficientBalance, NotFound
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import (
    CardBalances,
    Posting,
    UnbalancedJournal,
    balances_after,
    card_balances_from_ledger,
    card_to_merchant,
    post_journal,
    reverse_journal,
    verify_ledger,
)
from tests import factories


@pytest.fixture
def product(session):
    return factories.product(session, factories.merchant(session))


def _redeem(session, card, *legs, merchant_id=None, **journal):
    m = card.merchant_id if merchant_id is None else merchant_id
    postings = [Posting(card_account(card.id, bucket), -amount) for bucket, amount in legs]
    postings.append(Posting(merchant_account(m, MerchantAccount.REVENUE), sum(amount for _, amount in legs)))
    return post_journal(session, merchant_id=m, kind=JournalKind.REDEEM, postings=postings,
                        actor_type=ActorType.STAFF, actor_id=1, **journal)


def test_a_merchant_cannot_move_its_cards_value_into_another_merchants_accounts(session, product):
    card = factories.card(session, product, principal_fen=500)
    other = factories.merchant(session)
    with pytest.raises(UnbalancedJournal, match="another merchant"):
        post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.REDEEM, actor_type=ActorType.SYSTEM,
                     postings=[Posting(card_account(card.id, CardBucket.PRINCIPAL), -100),
                               Posting(merchant_account(other.id, MerchantAccount.REVENUE), 100)])
    assert card.principal_fen == 500


def test_a_card_that_does_not_exist_is_not_found(session, product):
    card = factories.card(session, product, principal_fen=500)
    with pytest.raises(NotFound):
        post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.ADJUST, actor_type=ActorType.SYSTEM,
                     postings=[Posting(card_account(card.id + 1000, CardBucket.PRINCIPAL), 100),
                               Posting(merchant_account(card.merchant_id, MerchantAccount.PROMOTION), -100)])


def test_two_legs_on_one_account_add_up_and_may_empty_it_exactly(session, product):
    card = factories.card(session, product, principal_fen=500)
    _redeem(session, card, (CardBucket.PRINCIPAL, 300), (CardBucket.PRINCIPAL, 200))
    assert card.principal_fen == card_balances_from_ledger(session, card.id).principal_fen == 0
    with pytest.raises(InsufficientBalance):
        _redeem(session, factories.card(session, product, principal_fen=500),
                (CardBucket.PRINCIPAL, 300), (CardBucket.PRINCIPAL, 201))
    assert verify_ledger(session) == []


def test_entries_name_their_card_and_merchant_entries_none(session, product):
    card = factories.card(session, product, principal_fen=1000, bonus_fen=100)
    journal = _redeem(session, card, (CardBucket.PRINCIPAL, 400), (CardBucket.BONUS, 100))
    entries = {e.account: (e.card_id, e.balance_after, e.amount) for e in journal.entries}
    assert entries == {
        card_account(card.id, CardBucket.PRINCIPAL): (card.id, 600, -400),
        card_account(card.id, CardBucket.BONUS): (card.id, 0, -100),
        merchant_account(card.merchant_id, MerchantAccount.REVENUE): (None, None, 500),
    }
    assert card_balances_from_ledger(session, card.id) == CardBalances(principal_fen=600, bonus_fen=0, points=0,
                                                                       uses_remaining=0)


def test_a_reversal_keeps_the_store_and_reference_of_what_it_undoes(session, product):
    merchant = session.get(factories.Merchant, product.merchant_id)
    store, other_store = factories.store(session, merchant), factories.store(session, merchant)
    card = factories.card(session, product, principal_fen=1000)
    journal = _redeem(session, card, (CardBucket.PRINCIPAL, 400), store_id=store.id, ref_type="redemption", ref_id=7)
    reversal = reverse_journal(session, journal, actor_type=ActorType.STAFF, actor_id=2)
    assert (reversal.kind, reversal.store_id, reversal.ref_type, reversal.ref_id, reversal.reverses_journal_id) == (
        JournalKind.REVERSE, store.id, "redemption", 7, journal.id)
    assert card.principal_fen == 1000

    again = _redeem(session, card, (CardBucket.PRINCIPAL, 100), store_id=store.id, ref_type="redemption", ref_id=8)
    elsewhere = reverse_journal(session, again, actor_type=ActorType.STAFF, actor_id=2, store_id=other_store.id,
                                ref_type="correction", ref_id=9)
    assert (elsewhere.store_id, elsewhere.ref_type, elsewhere.ref_id) == (other_store.id, "correction", 9)
    assert verify_ledger(session) == []


def test_a_card_with_no_entries_balances_at_zero(session, product):
    card = factories.card(session, product)
    assert card_balances_from_ledger(session, card.id) == CardBalances(principal_fen=0, bonus_fen=0, points=0,
                                                                       uses_remaining=0)
    assert verify_ledger(session) == []


def test_verify_ledger_names_each_drifting_balance(session, product):
    card = factories.card(session, product, principal_fen=1000, bonus_fen=100, points=5, uses=2)
    session.commit()
    card.bonus_fen, card.uses_remaining = 101, 3
    session.flush()
    (drift,) = verify_ledger(session)
    assert (drift.kind, drift.ref_id) == ("card_balance", card.id)
    assert drift.detail == "bonus_fen: cached 101 ≠ ledger 100; uses_remaining: cached 3 ≠ ledger 2"


def test_a_debit_sees_what_another_transaction_took_since_the_card_was_read(app, session, product):
    """No lost update: the lock re-reads the card, so a balance read earlier is not trusted."""
    from sqlalchemy.orm import Session

    from server.cards.models import Card
    from server.db import db

    card = factories.card(session, product, principal_fen=1000)
    session.commit()
    assert session.get(Card, card.id).principal_fen == 1000  # read, and kept in this session
    with Session(db.engine) as other:  # another cashier's redemption commits meanwhile
        _redeem(other, other.get(Card, card.id), (CardBucket.PRINCIPAL, 300))
        other.commit()
    with pytest.raises(InsufficientBalance) as info:
        _redeem(session, card, (CardBucket.PRINCIPAL, 800))
    assert info.value.details["available"] == 700
    session.rollback()
    _redeem(session, card, (CardBucket.PRINCIPAL, 700))
    session.commit()
    assert verify_ledger(session) == []


def test_the_balance_after_a_redemption_is_what_the_card_held_then(session, product):
    """The redemption list shows each redemption's balance after: later ones do not change it."""
    card = factories.card(session, product, principal_fen=1000, bonus_fen=200)
    first = _redeem(session, card, (CardBucket.PRINCIPAL, 300), (CardBucket.BONUS, 50))
    second = _redeem(session, card, (CardBucket.PRINCIPAL, 100))
    assert balances_after(session, card.id, first.id) == CardBalances(principal_fen=700, bonus_fen=150, points=0,
                                                                      uses_remaining=0)
    assert balances_after(session, card.id, second.id) == CardBalances(principal_fen=600, bonus_fen=150, points=0,
                                                                       uses_remaining=0)


def test_a_bucket_the_card_never_had_held_nothing_after_a_redemption(session, product):
    """A count card with points holds no money; a stored-value card with only principal holds no bonus,
    points or uses: those show as 0 after a redemption, not as a made-up fen or use."""
    count = factories.card(session, factories.product(session, session.get(factories.Merchant, product.merchant_id),
                                                      kind="count"), points=40, uses=5)
    used = post_journal(session, merchant_id=count.merchant_id, kind=JournalKind.REDEEM, actor_type=ActorType.STAFF,
                        postings=[Posting(card_account(count.id, CardBucket.USES), -2),
                                  Posting(merchant_account(count.merchant_id, MerchantAccount.USES_REDEEMED), 2)])
    assert balances_after(session, count.id, used.id) == CardBalances(principal_fen=0, bonus_fen=0, points=40,
                                                                      uses_remaining=3)

    stored = factories.card(session, product, principal_fen=1000)
    paid = _redeem(session, stored, (CardBucket.PRINCIPAL, 1000))
    assert balances_after(session, stored.id, paid.id) == CardBalances(principal_fen=0, bonus_fen=0, points=0,
                                                                       uses_remaining=0)


def test_each_leg_moves_its_amount_out_of_the_card_into_the_merchants_account(session, product):
    """A redemption's legs: 300 fen to revenue, nothing from the bonus, and 5 points earned (a leg the
    other way round); the merchant's accounts gain exactly what the card loses."""
    card = factories.card(session, product, principal_fen=1000, bonus_fen=100)
    m = card.merchant_id
    legs = [(CardBucket.PRINCIPAL, MerchantAccount.REVENUE, 300), (CardBucket.BONUS, MerchantAccount.PROMOTION, 0),
            (CardBucket.POINTS, MerchantAccount.POINTS_ISSUANCE, -5)]
    journal = post_journal(session, merchant_id=m, kind=JournalKind.REDEEM, actor_type=ActorType.STAFF,
                           postings=card_to_merchant(card.id, m, legs))
    assert {e.account: e.amount for e in journal.entries} == {
        card_account(card.id, CardBucket.PRINCIPAL): -300,
        merchant_account(m, MerchantAccount.REVENUE): 300,
        card_account(card.id, CardBucket.POINTS): 5,
        merchant_account(m, MerchantAccount.POINTS_ISSUANCE): -5,
    }  # a zero leg books no entry
    assert (card.principal_fen, card.bonus_fen, card.points) == (700, 100, 5)
    assert verify_ledger(session) == []
