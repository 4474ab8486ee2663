"""GET /api/v1/mp/cards/{card_id}/refund-quote: the refund, fee and forfeited bonus the mini-program
shows before the consumer confirms, exactly what the refund then pays."""

from datetime import timedelta

import pytest

from server.cards.models import Card
from server.db import utcnow
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal
from server.products.models import CardProduct
from server.redemption.models import Redemption
from tests import factories
from tests.payments.support import new_card, wait_order_status

TOP_UP = {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}], "allow_custom": True,
          "min_fen": 1000, "max_fen": 200000}


@pytest.fixture
def shop(live, seller):
    def configure(session):
        product = session.get(CardProduct, seller.product_id)
        product.top_up, product.named, product.refund_rule = TOP_UP, True, {"allowed": True, "fee_percent": 10}
        session.commit()

    live.query(configure)
    return seller


def _paid_card(live, shop, headers, consumer_id):
    card_id = new_card(live, shop, consumer_id)
    order_no = live.post(f"/api/v1/mp/cards/{card_id}/top-ups", json={"amount_fen": 30000},
                         headers={**headers, "Idempotency-Key": "quote-top-up"}).json()["order_no"]
    live.simulate_pay(order_no)
    wait_order_status(live, order_no, "paid")
    return card_id


def _quote(live, headers, card_id):
    return live.get(f"/api/v1/mp/cards/{card_id}/refund-quote", headers=headers)


def _refund(live, headers, card_id):
    return live.post(f"/api/v1/mp/cards/{card_id}/refund", json={"reason": "搬家"},
                     headers={**headers, "Idempotency-Key": "quote-refund"})


def test_cooling_off_quote_is_what_the_refund_pays_and_changes_nothing(live, shop):
    consumer_id, headers = live.login()
    card_id = _paid_card(live, shop, headers, consumer_id)
    quote = _quote(live, headers, card_id)
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert (body["refund_fen"], body["fee_fen"], body["forfeited_bonus_fen"], body["cooling_off"]) == (
        30000, 0, 3000, True)
    assert _quote(live, headers, card_id).json() == body  # a quote refunds nothing
    assert live.query(lambda s: s.get(Card, card_id).status) == "active"
    refund = _refund(live, headers, card_id).json()
    assert (refund["refund_fen"], refund["fee_fen"], refund["forfeited_bonus_fen"]) == (30000, 0, 3000)


def test_after_use_the_quote_shows_the_fee_and_matches_the_refund(live, shop):
    consumer_id, headers = live.login()
    card_id = _paid_card(live, shop, headers, consumer_id)

    def use_and_age(session):
        card = session.get(Card, card_id)
        merchant = session.get(factories.Merchant, card.merchant_id)
        store = factories.store(session, merchant)
        cashier = factories.staff(session, merchant, "cashier", store_id=store.id)
        journal = post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.REDEEM,
                               actor_type=ActorType.STAFF, postings=[
                                   Posting(card_account(card_id, CardBucket.PRINCIPAL), -10000),
                                   Posting(merchant_account(card.merchant_id, MerchantAccount.REVENUE), 10000)])
        session.add(Redemption(merchant_id=card.merchant_id, store_id=store.id, card_id=card_id, staff_id=cashier.id,
                               journal_id=journal.id, deducted_fen=10000, deducted_principal_fen=10000))
        card.created_at = utcnow() - timedelta(days=10)
        session.commit()

    live.query(use_and_age)
    quote = _quote(live, headers, card_id).json()
    # 20000 principal left; 10% fee = 2000; the 3000 bonus is forfeited.
    assert (quote["refund_fen"], quote["fee_fen"], quote["forfeited_bonus_fen"], quote["cooling_off"]) == (
        18000, 2000, 3000, False)
    refund = _refund(live, headers, card_id).json()
    assert {k: refund[k] for k in ("refund_fen", "fee_fen", "forfeited_bonus_fen")} == {
        k: quote[k] for k in ("refund_fen", "fee_fen", "forfeited_bonus_fen")}


def test_quote_refuses_what_the_refund_refuses_and_hides_other_consumers_cards(live, shop):
    consumer_id, headers = live.login()
    free = new_card(live, shop, consumer_id, principal_fen=5000)  # never paid through WeChat
    refused = _quote(live, headers, free)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "NOT_REFUNDABLE"
    assert refused.json()["error"]["message"]
    _, other = live.login()
    assert _quote(live, other, free).status_code == 404
