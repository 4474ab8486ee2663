"""The wall between live and test books (server/modes.py): every ORM statement of a session sees only
its mode's rows — loads, joins, aggregates, UPDATE and DELETE — and new rows take the session's mode."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.cards.models import Card
from server.db import db
from server.ledger.models import Journal, LedgerEntry
from server.ledger.services import verify_ledger
from server.modes import ALL_MODES, Mode, use_mode
from tests import factories


@pytest.fixture
def two_cards(app):
    """One live and one test card of one product, each with its opening journal; their ids."""
    with app.app_context():
        product = factories.product(db.session, factories.merchant(db.session))
        live = factories.card(db.session, product, principal_fen=1000)
        use_mode(db.session, Mode.TEST)
        test = factories.card(db.session, product, principal_fen=2000)
        db.session.commit()
        return live.id, test.id


def test_each_mode_loads_only_its_own_rows(app, two_cards):
    live_id, test_id = two_cards
    for mode, mine, other in ((Mode.LIVE, live_id, test_id), (Mode.TEST, test_id, live_id)):
        with app.app_context():
            use_mode(db.session, mode)
            assert db.session.get(Card, other) is None and db.session.get(Card, mine).mode == mode
            assert db.session.scalars(select(Card.id)).all() == [mine]
            assert db.session.scalar(select(func.sum(LedgerEntry.amount)).join(Card, Card.id == LedgerEntry.card_id)
                                     ) == (1000 if mode == Mode.LIVE else 2000)
            assert {j.mode for j in db.session.scalars(select(Journal))} == {mode.value}
            assert verify_ledger(db.session) == []


def test_update_and_delete_never_reach_the_other_mode(app, two_cards):
    live_id, test_id = two_cards
    with app.app_context():
        assert db.session.execute(update(Card).values(status="frozen")).rowcount == 1
        use_mode(db.session, Mode.TEST)
        assert db.session.execute(delete(LedgerEntry)).rowcount == 2  # the card's leg and its counterpart
        db.session.commit()
    with app.app_context():
        rows = dict(db.session.execute(select(Card.id, Card.status).execution_options(**{ALL_MODES: True})).all())
        assert rows == {live_id: "frozen", test_id: "active"}
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 2  # the live entries remain


def test_a_core_insert_without_a_mode_fails_instead_of_landing_live(app, two_cards):
    with app.app_context():
        live = db.session.get(Card, two_cards[0])
        with pytest.raises(IntegrityError):
            db.session.execute(insert(Card).values(merchant_id=live.merchant_id, product_id=live.product_id,
                                                   card_no="6299000000000001", secret_encrypted="x",
                                                   status="active", principal_fen=0, bonus_fen=0, points=0,
                                                   uses_remaining=0))
        db.session.rollback()
