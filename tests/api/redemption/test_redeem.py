"""POST /api/v1/merchant/redeem for every card kind and every refusal."""

import pytest
from sqlalchemy import text

from server.db import db
from server.ledger.services import verify_ledger


def _ok(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _error(response, status, code):
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_stored_value_by_qr_takes_discounted_bill_from_principal_and_bonus(client, counter):
    card_id = counter.card(principal_fen=30000, bonus_fen=5000)
    receipt = _ok(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=10000))
    assert receipt["kind"] == "stored_value"
    assert (receipt["bill_fen"], receipt["payable_fen"]) == (10000, 9000)  # product discount 90%
    assert (receipt["deducted_principal_fen"], receipt["deducted_bonus_fen"]) == (7714, 1286)
    assert (receipt["principal_fen"], receipt["bonus_fen"], receipt["balance_fen"]) == (22286, 3714, 26000)
    assert receipt["card_no_masked"].count("*") == 8


def test_numeric_code_and_regional_discount(client, counter):
    card_id = counter.card(principal_fen=10000)
    receipt = _ok(counter.redeem(client, role="owner", code=counter.code(card_id)["numeric"], amount_fen=1000,
                                 store_id=counter.shop.other_store_id))  # store in region 540102 → 80%
    assert receipt["payable_fen"] == 800


def test_card_number_and_secret(client, counter, app):
    card_id = counter.card(principal_fen=500, secret="135790")
    with app.app_context():
        card_no = db.session.execute(text("SELECT card_no FROM cards WHERE id = :id"), {"id": card_id}).scalar()
    _ok(counter.redeem(client, code=f"{card_no}:135790", amount_fen=100))
    _error(counter.redeem(client, code=f"{card_no}:000000", amount_fen=100), 422, "CODE_INVALID")


def test_count_card_takes_uses(client, counter):
    card_id = counter.card("count", uses=10, principal_fen=20000)
    receipt = _ok(counter.redeem(client, code=counter.code(card_id)["qr"], uses=2))
    assert (receipt["uses_deducted"], receipt["remaining_uses"], receipt["deducted_principal_fen"]) == (2, 8, 4000)
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], uses=9), 422, "INSUFFICIENT_USES")


def test_points_card_earns_and_redeems(client, counter):
    card_id = counter.card("points", points=300)
    receipt = _ok(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=5000, redeem_points=200))
    # 100 points = 1 yuan off: 200 points take 2 yuan off a 50-yuan bill; 48 yuan paid earn 48 points.
    assert (receipt["payable_fen"], receipt["points_redeemed"], receipt["points_earned"]) == (4800, 200, 48)
    assert receipt["points_balance"] == 300 - 200 + 48


def test_discount_card_deducts_nothing(client, counter):
    card_id = counter.card("discount")
    receipt = _ok(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=10000))
    assert (receipt["payable_fen"], receipt["deducted_fen"]) == (8500, 0)


def test_code_is_single_use_but_a_failed_attempt_keeps_it(client, counter):
    card_id = counter.card(principal_fen=1000)
    code = counter.code(card_id)["qr"]
    _error(counter.redeem(client, code=code, amount_fen=5000), 422, "INSUFFICIENT_BALANCE")
    _ok(counter.redeem(client, code=code, amount_fen=100))
    _error(counter.redeem(client, code=code, amount_fen=100), 422, "CODE_INVALID")


def test_a_new_code_retires_the_previous_one(client, counter):
    card_id = counter.card(principal_fen=1000)
    old = counter.code(card_id)
    counter.code(card_id)
    _error(counter.redeem(client, code=old["qr"], amount_fen=100), 422, "CODE_INVALID")
    _error(counter.redeem(client, code=old["numeric"], amount_fen=100), 422, "CODE_INVALID")


def test_unknown_garbage_and_foreign_codes_get_one_answer(client, counter, app):
    from tests import factories

    for code in ["KB1:nonsense", "123456789012345678", "hello", "6200000000000000:1"]:
        _error(counter.redeem(client, code=code, amount_fen=100), 422, "CODE_INVALID")
    with app.app_context():
        foreign = factories.card(db.session, factories.product(db.session, factories.merchant(db.session)),
                                 principal_fen=1000)
        db.session.commit()
        foreign_id = foreign.id
    _error(counter.redeem(client, code=counter.code(foreign_id)["qr"], amount_fen=100), 422, "CODE_INVALID")


def test_cashier_redeems_only_at_their_store(client, counter):
    card_id = counter.card(principal_fen=1000)
    response = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100,
                              store_id=counter.shop.other_store_id)
    _error(response, 403, "FORBIDDEN")


def test_store_scope_expiry_status_and_min_spend(client, counter, app):
    from server.cards.models import Card
    from server.products.models import CardProduct

    card_id = counter.card(principal_fen=10000)
    with app.app_context():
        product = db.session.get(CardProduct, counter.product_ids["stored_value"])
        product.store_scope = [counter.shop.other_store_id]
        db.session.commit()
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100), 422, "STORE_NOT_ALLOWED")
    with app.app_context():
        product = db.session.get(CardProduct, counter.product_ids["stored_value"])
        product.store_scope, product.min_spend_fen = "all", 5000
        db.session.commit()
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=4999), 422, "MIN_SPEND_NOT_MET")
    with app.app_context():
        db.session.get(Card, card_id).status = "frozen"
        db.session.commit()
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=6000), 422, "CARD_NOT_ACTIVE")
    with app.app_context():
        from datetime import timedelta

        from server.db import utcnow

        card = db.session.get(Card, card_id)
        card.status, card.expires_at = "active", utcnow() - timedelta(minutes=1)
        db.session.commit()
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=6000), 422, "CARD_EXPIRED")


def test_a_batch_issued_for_some_regions_is_usable_only_at_their_stores(client, counter, app):
    from server.cards.models import Card
    from tests import issuance_support

    card_id = counter.card(principal_fen=10000)
    batch_id = issuance_support.batch(app, counter.shop.merchant_id, counter.product_ids["stored_value"],
                                      region_codes=["310000"])  # all of Shanghai
    with app.app_context():
        db.session.get(Card, card_id).batch_id = batch_id
        db.session.commit()
    _ok(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100))  # a Huangpu (310101) store
    response = counter.redeem(client, role="owner", code=counter.code(card_id)["qr"], amount_fen=100,
                              store_id=counter.shop.other_store_id)  # a Lhasa (540102) store
    _error(response, 422, "STORE_NOT_ALLOWED")
    assert response.get_json()["error"]["details"] == {"region_codes": ["310000"]}


def test_unapproved_merchant_cannot_redeem(client, counter, app):
    from server.merchants.models import Merchant

    card_id = counter.card(principal_fen=1000)
    with app.app_context():
        db.session.get(Merchant, counter.shop.merchant_id).status = "suspended"
        db.session.commit()
    _error(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=100), 403, "MERCHANT_NOT_APPROVED")


def test_replay_returns_the_same_receipt_and_deducts_once(client, counter):
    card_id = counter.card(principal_fen=1000)
    code = counter.code(card_id)["qr"]
    first = _ok(counter.redeem(client, key="till-7-0001", code=code, amount_fen=300))
    again = _ok(counter.redeem(client, key="till-7-0001", code=code, amount_fen=300))
    assert first == again and again["balance_fen"] == 1000 - 270  # one deduction of 300 at 90%


@pytest.mark.parametrize("role", ["finance", "operations"])
def test_back_office_roles_cannot_redeem(client, counter, role):
    card_id = counter.card(principal_fen=1000)
    _error(counter.redeem(client, role=role, code=counter.code(card_id)["qr"], amount_fen=100), 403, "FORBIDDEN")


def test_too_many_wrong_codes_are_rate_limited(client, counter):
    for _ in range(20):
        counter.redeem(client, code="KB1:guess", amount_fen=100)
    response = counter.redeem(client, code="KB1:guess", amount_fen=100)
    _error(response, 429, "RATE_LIMITED")
    assert int(response.headers["Retry-After"]) > 0


def test_books_stay_balanced(client, counter, app):
    for kind, balances in [("stored_value", {"principal_fen": 5000, "bonus_fen": 500}), ("count", {"uses": 3}),
                           ("points", {"points": 100})]:
        card_id = counter.card(kind, **balances)
        _ok(counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=1000))
    with app.app_context():
        assert verify_ledger(db.session) == []
