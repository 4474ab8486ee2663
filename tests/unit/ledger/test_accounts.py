"""Journal balancing rules and account naming: pure, no database."""

import pytest

from server.ledger.accounts import CardBucket, MerchantAccount, account_unit, card_account, merchant_account
from server.ledger.models import Unit
from server.ledger.services import Posting, UnbalancedJournal, check_balanced


def test_top_up_with_bonus_balances_per_unit():
    postings = [
        Posting(card_account(1, CardBucket.PRINCIPAL), 30000),
        Posting(merchant_account(9, MerchantAccount.WECHAT_CLEARING), -30000),
        Posting(card_account(1, CardBucket.BONUS), 5000),
        Posting(merchant_account(9, MerchantAccount.PROMOTION), -5000),
    ]
    units = check_balanced(postings)
    assert units[card_account(1, CardBucket.BONUS)] is Unit.FEN


def test_each_unit_must_balance_on_its_own():
    # 10 fen and 10 points do not cancel each other out.
    postings = [
        Posting(card_account(1, CardBucket.PRINCIPAL), 10),
        Posting(merchant_account(9, MerchantAccount.POINTS_ISSUANCE), -10),
    ]
    with pytest.raises(UnbalancedJournal, match="sum to zero"):
        check_balanced(postings)


def test_off_by_one_fen_is_refused():
    with pytest.raises(UnbalancedJournal):
        check_balanced([
            Posting(card_account(1, CardBucket.PRINCIPAL), 10001),
            Posting(merchant_account(9, MerchantAccount.WECHAT_CLEARING), -10000),
        ])


@pytest.mark.parametrize("amount", [0, 1.5, 100.0, True, "100"])
def test_amounts_must_be_non_zero_integers(amount):
    with pytest.raises(UnbalancedJournal, match="non-zero integer"):
        check_balanced([
            Posting(card_account(1, CardBucket.PRINCIPAL), amount),
            Posting(merchant_account(9, MerchantAccount.WECHAT_CLEARING), -1),
        ])


def test_a_single_entry_is_not_a_journal():
    with pytest.raises(UnbalancedJournal, match="at least two"):
        check_balanced([Posting(card_account(1, CardBucket.PRINCIPAL), 100)])


@pytest.mark.parametrize(
    ("account", "unit"),
    [
        ("card:5:principal", Unit.FEN),
        ("card:5:bonus", Unit.FEN),
        ("card:5:points", Unit.POINTS),
        ("card:5:uses", Unit.USES),
        ("merchant:2:revenue", Unit.FEN),
        ("merchant:2:uses_issuance", Unit.USES),
        ("merchant:2:points_redeemed", Unit.POINTS),
    ],
)
def test_account_units(account, unit):
    assert account_unit(account) is unit


@pytest.mark.parametrize("account", ["card:x:principal", "card:5:cash", "bank:1:revenue", "merchant:2", ""])
def test_malformed_accounts_are_refused(account):
    with pytest.raises(ValueError, match="account"):
        account_unit(account)
