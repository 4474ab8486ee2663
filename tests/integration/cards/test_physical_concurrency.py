"""Printed cards under real concurrency (PostgreSQL): one activation, one binding, one replacement wins."""

import uuid

import pytest
from sqlalchemy import select

from server.cards.models import Card
from server.db import db
from server.ledger.models import Journal
from server.ledger.services import verify_ledger
from tests import issuance_support as support
from tests.api.physical_cards.conftest import PRICE_FEN, activate, create_physical_batch
from tests.integration.issuance.test_concurrency import _race

pytestmark = pytest.mark.postgres


def test_five_cashiers_activating_one_card_activate_it_once(app, client, shop):
    printed = create_physical_batch(app, client, shop, quantity=1)
    card_no = printed.cards[0][0]
    outcomes = _race(app, [lambda c: activate(c, shop, card_no)] * 5)
    assert outcomes == {"ok": 1, "STATE_CONFLICT": 4}
    with app.app_context():
        card = db.session.scalar(select(Card).where(Card.card_no == card_no))
        assert (card.status, card.principal_fen) == ("active", PRICE_FEN)
        assert len(db.session.scalars(select(Journal).where(Journal.ref_id == card.id)).all()) == 1
        assert verify_ledger(db.session) == []


def test_five_consumers_binding_one_printed_card_leave_one_holder(app, client, shop, issue_token):
    printed = create_physical_batch(app, client, shop, quantity=1)
    card_no, secret = printed.cards[0]
    activate(client, shop, card_no)
    headers = [support.consumer_headers(issue_token, support.consumer(app)) for _ in range(5)]
    outcomes = _race(app, [lambda c, h=h: c.post("/api/v1/mp/cards/bind", json={"code": f"{card_no}:{secret}"},
                                                 headers=h) for h in headers])
    assert outcomes == {"ok": 1, "CODE_INVALID": 4}


def test_two_replacements_of_one_card_move_its_value_once(app, client, shop):
    printed = create_physical_batch(app, client, shop, quantity=1)
    card_no = printed.cards[0][0]
    activate(client, shop, card_no)

    def replace(c):
        return c.post(f"/api/v1/merchant/cards/{card_no}/replace", json={},
                      headers={**shop.headers(), "Idempotency-Key": uuid.uuid4().hex})

    assert _race(app, [replace] * 3) == {"ok": 1, "STATE_CONFLICT": 2}
    with app.app_context():
        assert verify_ledger(db.session) == []
        live = db.session.scalars(select(Card).where(Card.product_id == printed.product_id,
                                                     Card.status == "active")).all()
        assert [(c.principal_fen, c.bonus_fen) for c in live] == [(PRICE_FEN, 10000 - PRICE_FEN)]
