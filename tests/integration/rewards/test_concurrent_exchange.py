"""Concurrent exchanges on PostgreSQL: the last units of stock and the last points are taken once."""

import threading

import pytest

from server.cards.models import Card
from server.db import db
from server.errors import AppError
from server.ledger.services import verify_ledger
from server.rewards import services as rewards
from server.rewards.models import Reward
from tests.integration.rewards.test_exchange import _owner, _reward

pytestmark = pytest.mark.postgres


def _race(app, counter, card_ids, reward_id):
    barrier = threading.Barrier(len(card_ids))
    outcomes, lock = [], threading.Lock()

    def attempt(card_id):
        with app.app_context():
            card_no = db.session.get(Card, card_id).card_no
            db.session.rollback()
            barrier.wait()
            try:
                rewards.staff_exchange(db.session, _owner(counter), card_no, reward_id, counter.shop.store_id)
                db.session.commit()
                outcome = "ok"
            except AppError as error:
                db.session.rollback()
                outcome = error.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(card_id,)) for card_id in card_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_ten_cards_racing_for_three_rewards_get_three(app, counter):
    reward_id = _reward(app, counter, stock=3)
    cards = [counter.card("points", points=100) for _ in range(10)]
    outcomes = _race(app, counter, cards, reward_id)
    assert outcomes.count("ok") == 3 and set(outcomes) == {"ok", "SOLD_OUT"}
    with app.app_context():
        assert db.session.get(Reward, reward_id).stock == 0
        assert verify_ledger(db.session) == []


def test_one_card_racing_itself_spends_its_points_once(app, counter):
    reward_id = _reward(app, counter, stock=10, points_price=100)
    card_id = counter.card("points", points=250)
    outcomes = _race(app, counter, [card_id] * 6, reward_id)
    assert outcomes.count("ok") == 2 and set(outcomes) == {"ok", "INSUFFICIENT_POINTS"}
    with app.app_context():
        assert db.session.get(Card, card_id).points == 50 and db.session.get(Reward, reward_id).stock == 8
        assert verify_ledger(db.session) == []
