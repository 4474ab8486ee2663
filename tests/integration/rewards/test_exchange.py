"""Points exchange (积分兑换) booked in the ledger: goods, stored value, uses; never overspent or oversold."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from server.auth import Principal, PrincipalKind
from server.cards.models import Card
from server.db import db
from server.errors import AppError
from server.ledger.models import Journal, LedgerEntry
from server.ledger.services import verify_ledger
from server.modes import Mode, use_mode
from server.reports.services import summary
from server.rewards import services as rewards
from server.rewards.models import Reward
from server.timeutil import shanghai_today


def _owner(counter) -> Principal:
    shop = counter.shop
    return Principal(PrincipalKind.STAFF, shop.staff_ids["owner"], merchant_id=shop.merchant_id, role="owner")


def _reward(app, counter, **fields) -> int:
    with app.app_context():
        reward = rewards.create_reward(db.session, _owner(counter), **{"name": "美式咖啡一杯", "kind": "goods",
                                                                      "points_price": 100, "stock": 2, **fields})
        db.session.commit()
        return reward.id


def _exchange(app, counter, card_id: int, reward_id: int) -> dict:
    with app.app_context():
        card_no = db.session.get(Card, card_id).card_no
        try:
            done = rewards.staff_exchange(db.session, _owner(counter), card_no, reward_id, counter.shop.store_id)
            db.session.commit()
            return done
        except AppError:
            db.session.rollback()
            raise


def test_goods_stored_value_and_uses_are_booked_and_the_books_balance(app, counter):
    points_card = counter.card("points", points=250)
    stored = counter.card("stored_value", principal_fen=1000, points=300)  # points earned on a stored-value card
    count = counter.card("count", uses=2, points=150)
    coffee = _reward(app, counter)
    ten_yuan = _reward(app, counter, name="10元储值", kind="stored_value", points_price=200, value_fen=1000)
    one_wash = _reward(app, counter, name="洗车1次", kind="uses", points_price=150, uses=1)

    done = _exchange(app, counter, points_card, coffee)
    assert (done["points_spent"], done["points_balance"]) == (100, 150)
    done = _exchange(app, counter, stored, ten_yuan)
    assert (done["points_balance"], done["balance_fen"]) == (100, 2000)
    done = _exchange(app, counter, count, one_wash)
    assert (done["points_balance"], done["remaining_uses"]) == (0, 3)
    with app.app_context():
        assert verify_ledger(db.session) == []
        journals = db.session.scalars(select(Journal).where(Journal.kind == "exchange")).all()
        assert len(journals) == 3 and {j.ref_type for j in journals} == {"reward"}
        bonus = db.session.scalars(select(LedgerEntry.amount).where(
            LedgerEntry.kind == "exchange", LedgerEntry.bucket == "bonus")).all()
        assert bonus == [1000]
        report = summary(db.session, counter.shop.merchant_id, shanghai_today(), shanghai_today())
        assert report["bonus_issued_fen"] == 1000  # the gift's cost shows as promotion, like any bonus


def test_not_enough_points_sold_out_and_the_wrong_card_kind_are_refused(app, counter):
    rich = counter.card("points", points=1000)
    poor = counter.card("points", points=50)
    coffee = _reward(app, counter, stock=1)
    ten_yuan = _reward(app, counter, name="10元储值", kind="stored_value", points_price=10, value_fen=1000)
    with pytest.raises(AppError) as refused:
        _exchange(app, counter, poor, coffee)
    assert refused.value.code == "INSUFFICIENT_POINTS"
    _exchange(app, counter, rich, coffee)
    with pytest.raises(AppError) as sold_out:
        _exchange(app, counter, rich, coffee)
    assert sold_out.value.code == "SOLD_OUT"
    with pytest.raises(AppError) as wrong:
        _exchange(app, counter, rich, ten_yuan)  # stored value goes onto stored-value cards only
    assert wrong.value.code == "VALIDATION_ERROR"
    with app.app_context():
        assert db.session.get(Reward, coffee).stock == 0
        assert db.session.get(Card, rich).points == 900 and db.session.get(Card, poor).points == 50


def test_stored_value_from_points_stops_at_the_cards_legal_cap(app, counter):
    from server.cards.caps import card_cap_fen
    from server.products.models import CardProduct

    with app.app_context():
        cap = card_cap_fen(db.session.get(CardProduct, counter.product_ids["stored_value"]))
    ten_yuan = _reward(app, counter, name="10元储值", kind="stored_value", points_price=100, value_fen=1000)
    at_cap = counter.card("stored_value", principal_fen=cap - 1000, points=100)
    assert _exchange(app, counter, at_cap, ten_yuan)["balance_fen"] == cap  # exactly the cap is allowed
    over = counter.card("stored_value", principal_fen=cap - 999, points=100)
    with pytest.raises(AppError) as refused:
        _exchange(app, counter, over, ten_yuan)
    assert (refused.value.code, refused.value.details["room_fen"]) == ("AMOUNT_NOT_ALLOWED", 999)
    with app.app_context():
        card = db.session.get(Card, over)
        assert (card.points, card.balance_fen) == (100, cap - 999)  # nothing taken


def test_a_test_cards_exchange_takes_nothing_from_the_stock(app, counter):
    """Test mode spends the test card's points, never the goods the live catalogue has left."""
    card_id = counter.card("points", points=300)
    coffee = _reward(app, counter, stock=1)
    with app.app_context():
        db.session.execute(text("UPDATE cards SET mode = 'test' WHERE id = :id"), {"id": card_id})
        db.session.execute(text("UPDATE ledger_entries SET mode = 'test' WHERE card_id = :id"), {"id": card_id})
        db.session.commit()
    for _ in range(2):
        with app.app_context():
            use_mode(db.session, Mode.TEST)
            card_no = db.session.get(Card, card_id).card_no
            rewards.staff_exchange(db.session, _owner(counter), card_no, coffee, counter.shop.store_id)
            db.session.commit()
    with app.app_context():
        assert db.session.get(Reward, coffee).stock == 1
        use_mode(db.session, Mode.TEST)
        assert db.session.get(Card, card_id).points == 100
