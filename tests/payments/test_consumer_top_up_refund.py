"""Consumer top-ups (tiers, bonus, legal cap) and refunds (cooling-off, fee, pro rata) end to end:
through the API, WeChat Pay in the simulator over real HTTP, and back through refund notifies.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.cards.models import Card
from server.db import utcnow
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal, verify_ledger
from server.payments.models import Refund, RefundAllocation
from server.products.models import CardProduct
from server.redemption import rules
from server.redemption.models import Redemption
from server.redemption.services import redemption_postings
from tests import factories, issuance_support
from tests.payments.support import new_card, order_row, wait_for, wait_order_status

TOP_UP = {"enabled": True, "tiers": [{"amount_fen": 30000, "bonus_fen": 3000}, {"amount_fen": 50000,
                                                                             "bonus_fen": 8000}],
          "allow_custom": True, "min_fen": 1000, "max_fen": 200000}


@pytest.fixture
def product_with_tiers(live, seller):
    def configure(session):
        product = session.get(CardProduct, seller.product_id)
        product.top_up, product.named, product.refund_rule = TOP_UP, True, {"allowed": True, "fee_percent": 10}
        session.commit()

    live.query(configure)
    return seller


def _top_up(live, headers, card_id, amount, key):
    return live.post(f"/api/v1/mp/cards/{card_id}/top-ups", json={"amount_fen": amount},
                     headers={**headers, "Idempotency-Key": key})


def _card(live, card_id):
    return live.query(lambda s: s.get(Card, card_id).__dict__.copy())


def test_tier_top_up_credits_principal_and_bonus_once(live, product_with_tiers):
    consumer_id, headers = live.login()
    card_id = new_card(live, product_with_tiers, consumer_id)
    options = live.get(f"/api/v1/mp/cards/{card_id}/top-up-options", headers=headers).json()
    assert [(t["amount_fen"], t["bonus_fen"]) for t in options["tiers"]] == [(30000, 3000), (50000, 8000)]
    response = _top_up(live, headers, card_id, 30000, "t-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["amount_fen"], body["bonus_fen"]) == (30000, 3000)
    assert set(body["pay_params"]) >= {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    live.simulate_pay(body["order_no"])
    wait_order_status(live, body["order_no"], "paid")
    card = _card(live, card_id)
    assert (card["principal_fen"], card["bonus_fen"]) == (30000, 3000)
    order = live.get(f"/api/v1/mp/orders/{body['order_no']}", headers=headers).json()
    assert (order["status"], order["card_id"]) == ("paid", card_id)


def test_custom_amount_earns_the_tier_it_reaches_and_other_amounts_are_refused(live, product_with_tiers):
    consumer_id, headers = live.login()
    card_id = new_card(live, product_with_tiers, consumer_id)
    assert _top_up(live, headers, card_id, 35000, "c-1").json()["bonus_fen"] == 3000
    assert _top_up(live, headers, card_id, 20000, "c-2").json()["bonus_fen"] == 0
    for amount, key in [(999, "c-3"), (200001, "c-4")]:
        refused = _top_up(live, headers, card_id, amount, key)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "AMOUNT_NOT_ALLOWED"


def test_top_up_beyond_the_legal_cap_is_refused(live, product_with_tiers):
    consumer_id, headers = live.login()
    card_id = new_card(live, product_with_tiers, consumer_id, principal_fen=450000)
    refused = _top_up(live, headers, card_id, 50000, "cap-1")  # 450000 + 50000 + 8000 bonus > 500000
    assert refused.status_code == 422 and refused.json()["error"]["details"]["room_fen"] == 50000
    assert _top_up(live, headers, card_id, 30000, "cap-2").status_code == 201  # 450000 + 33000 fits
    _, other = live.login()
    assert _top_up(live, other, card_id, 30000, "cap-3").status_code == 404


def _paid_card(live, shop, headers, consumer_id, amount, key):
    card_id = new_card(live, shop, consumer_id)
    order_no = _top_up(live, headers, card_id, amount, key).json()["order_no"]
    live.simulate_pay(order_no)
    wait_order_status(live, order_no, "paid")
    return card_id, order_no


def _refund(live, headers, card_id, key="refund-1"):
    return live.post(f"/api/v1/mp/cards/{card_id}/refund", json={"reason": "不想要了"},
                     headers={**headers, "Idempotency-Key": key})


def test_cooling_off_refund_returns_all_principal_without_fee(live, product_with_tiers):
    consumer_id, headers = live.login()
    card_id, order_no = _paid_card(live, product_with_tiers, headers, consumer_id, 30000, "p-1")
    response = _refund(live, headers, card_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["refund_fen"], body["fee_fen"], body["forfeited_bonus_fen"]) == (30000, 0, 3000)
    assert _refund(live, headers, card_id).json() == body  # idempotent replay
    wait_for(lambda: live.query(lambda s: s.scalar(select(Refund.status).where(
        Refund.refund_no == body["refund_no"]))) == "succeeded")
    assert order_row(live, order_no).refunded_fen == 30000
    card = _card(live, card_id)
    assert (card["status"], card["principal_fen"], card["bonus_fen"]) == ("refunded", 0, 0)
    assert live.query(verify_ledger) == []


def test_after_use_the_fee_applies_and_the_money_splits_across_orders_newest_first(live, product_with_tiers):
    consumer_id, headers = live.login()
    card_id, first = _paid_card(live, product_with_tiers, headers, consumer_id, 30000, "s-1")
    second = _top_up(live, headers, card_id, 20000, "s-2").json()["order_no"]
    live.simulate_pay(second)
    wait_order_status(live, second, "paid")

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
    body = _refund(live, headers, card_id).json()
    # 40000 principal left; 10% fee = 4000; 3000 bonus forfeited.
    assert (body["refund_fen"], body["fee_fen"], body["forfeited_bonus_fen"]) == (36000, 4000, 3000)
    allocations = live.query(lambda s: [(a.payment_order_id, a.amount_fen) for a in s.scalars(
        select(RefundAllocation).order_by(RefundAllocation.id))])
    orders = {order_row(live, n).id: n for n in (first, second)}
    assert [(orders[o], amount) for o, amount in allocations] == [(second, 20000), (first, 16000)]
    assert live.query(verify_ledger) == []


def test_count_card_refunds_pro_rata_and_free_value_is_not_paid_out(live, seller):
    consumer_id, headers = live.login()

    def count_product(session):
        product = session.get(CardProduct, seller.product_id)
        product.kind, product.uses, product.refund_rule = "count", 10, {"allowed": True, "fee_percent": 0}
        session.commit()

    live.query(count_product)
    free = new_card(live, seller, consumer_id, uses=10, principal_fen=5000)  # principal never paid in WeChat
    refused = _refund(live, headers, free, key="free")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "NOT_REFUNDABLE"


def test_count_card_bought_then_partly_used_refunds_pro_rata(live, seller):

    def count_product(session):
        product = session.get(CardProduct, seller.product_id)
        product.kind, product.uses, product.face_value_fen = "count", 10, 0
        product.refund_rule = {"allowed": True, "fee_percent": 0}
        session.commit()

    live.query(count_product)
    batch_id = issuance_support.batch(live.app, seller.merchant_id, seller.product_id, issue_method="purchase",
                                      price_fen=5000)
    _, headers = live.login()
    order_no = live.post(f"/api/v1/mp/batches/{batch_id}/purchase",
                         headers={**headers, "Idempotency-Key": "buy-count"}).json()["order_no"]
    live.simulate_pay(order_no)
    card_id = wait_order_status(live, order_no, "paid").card_id

    def use_three(session):
        for _ in range(3):
            card = session.get(Card, card_id)
            taken = rules.recognised_principal(card.principal_fen, card.uses_remaining, 1)
            outcome = rules.Outcome(uses=1, principal_fen=taken)
            post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.REDEEM, actor_type=ActorType.STAFF,
                         postings=redemption_postings(card_id, card.merchant_id, outcome))
        merchant = session.get(factories.Merchant, card.merchant_id)
        store = factories.store(session, merchant)
        session.add(Redemption(merchant_id=card.merchant_id, store_id=store.id, card_id=card_id,
                               staff_id=factories.staff(session, merchant, "cashier", store_id=store.id).id,
                               uses_deducted=3))
        session.commit()

    live.query(use_three)
    body = _refund(live, headers, card_id, key="count-refund").json()
    assert (body["refund_fen"], body["fee_fen"]) == (3500, 0)  # 7 of 10 uses left of 5000 paid
    assert order_row(live, order_no).refunded_fen == 3500
    assert live.query(verify_ledger) == []
