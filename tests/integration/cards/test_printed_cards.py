"""A physical batch's cards: one bulk insert, numbers that are never reused, secrets encrypted."""

from __future__ import annotations

import itertools

import pytest
from flask import current_app
from sqlalchemy import func, select

from server.cards import physical
from server.cards.models import Card
from server.crypto import decrypt
from server.errors import Conflict
from server.issuance.models import Batch, Channel
from tests import factories


def _batch(session, quantity: int):
    merchant = factories.merchant(session)
    product = factories.product(session, merchant, form="physical", face_value_fen=10000)
    channel = Channel(merchant_id=merchant.id, name="门店", kind="offline")
    session.add(channel)
    session.flush()
    batch = Batch(merchant_id=merchant.id, product_id=product.id, channel_id=channel.id, name="实体卡",
                  quantity=quantity, price_fen=8000, issue_method="physical", status="active")
    session.add(batch)
    session.flush()
    return batch, product


def test_taken_numbers_are_drawn_again(session, monkeypatch):
    batch, product = _batch(session, 3)
    taken = factories.card(session, product, card_no="6200000000000001").card_no
    fresh = (f"62000000000001{i:02d}" for i in itertools.count())
    draws = itertools.chain([taken, taken], fresh)
    monkeypatch.setattr(physical, "generate_card_no", lambda prefix, length: next(draws))
    assert physical.create_printed_cards(session, current_app.config, batch, product) == 3
    numbers = session.scalars(select(Card.card_no).where(Card.batch_id == batch.id)).all()
    assert len(set(numbers)) == 3 and taken not in numbers
    assert session.scalar(select(func.count()).where(Card.card_no == taken)) == 1
    secrets = [decrypt(current_app.config, s) for s in
               session.scalars(select(Card.secret_encrypted).where(Card.batch_id == batch.id))]
    assert all(len(s) == 12 and s.isdigit() for s in secrets) and len(set(secrets)) == 3
    assert session.get(Batch, batch.id).issued_count == 3
    assert physical.create_printed_cards(session, current_app.config, batch, product) == 0  # only once


def test_a_number_rule_with_no_room_left_is_refused(session, monkeypatch):
    batch, product = _batch(session, 2)
    taken = factories.card(session, product, card_no="6200000000000001").card_no
    monkeypatch.setattr(physical, "generate_card_no", lambda prefix, length: taken)
    with pytest.raises(Conflict):
        physical.create_printed_cards(session, current_app.config, batch, product)


def test_more_cards_than_one_insert_holds(session):
    batch, product = _batch(session, physical.INSERT_CHUNK + 7)
    physical.create_printed_cards(session, current_app.config, batch, product)
    rows = session.execute(select(func.count(), func.count(func.distinct(Card.card_no)))
                           .where(Card.batch_id == batch.id, Card.status == "inactive", Card.owner_id.is_(None)))
    assert rows.one() == (physical.INSERT_CHUNK + 7, physical.INSERT_CHUNK + 7)
