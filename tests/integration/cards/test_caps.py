"""The legal cap on one card (MOFCOM: 5,000 yuan named, 1,000 yuan unnamed) and the room left under it,
as every top-up and every points-for-stored-value exchange asks: what the card holds (principal and
bonus) plus what its unpaid top-ups would add, bonus included, if they were all paid. A top-up that was
paid, closed or has expired holds no room; one that has not expired yet does, to the instant."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from server.cards.caps import cap_room_fen, card_cap_fen, pending_top_ups_fen
from server.consumers.models import Consumer
from server.db import utcnow
from server.payments.models import PaymentOrder
from tests import factories

_numbers = itertools.count(1)


@pytest.fixture
def merchant(session):
    return factories.merchant(session)


@pytest.fixture
def named(session, merchant):
    return factories.product(session, merchant, named=True)


@pytest.fixture
def unnamed(session, merchant):
    return factories.product(session, merchant, named=False)


def _top_up(session, card, amount_fen, bonus_fen=0, *, status="pending", expires_in=timedelta(minutes=30),
            purpose="top_up"):
    """An order for ``card`` as WeChat Pay placed it; pending until paid, closed or expired."""
    consumer = Consumer(openid=f"o_cap_{next(_numbers)}")
    session.add(consumer)
    session.flush()
    order = PaymentOrder(merchant_id=card.merchant_id, consumer_id=consumer.id, card_id=card.id, purpose=purpose,
                         out_trade_no=f"T{next(_numbers):06d}cap", amount_fen=amount_fen, bonus_fen=bonus_fen,
                         status=status, expires_at=utcnow() + expires_in, client_ip="127.0.0.1",
                         paid_at=utcnow() if status == "paid" else None)
    session.add(order)
    session.flush()
    return order


def test_a_named_card_may_hold_5000_yuan_and_an_unnamed_card_1000(named, unnamed):
    assert (card_cap_fen(named), card_cap_fen(unnamed)) == (500_000, 100_000)


def test_the_room_is_the_cap_less_principal_and_bonus(session, named, unnamed):
    assert cap_room_fen(session, factories.card(session, named), named) == 500_000
    held = factories.card(session, named, principal_fen=300_000, bonus_fen=30_000)
    assert cap_room_fen(session, held, named) == 170_000
    assert cap_room_fen(session, factories.card(session, unnamed, principal_fen=99_999), unnamed) == 1
    assert cap_room_fen(session, factories.card(session, unnamed, principal_fen=90_000, bonus_fen=10_000),
                        unnamed) == 0


def test_a_card_above_its_cap_has_no_room_rather_than_negative_room(session, unnamed):
    """Issued while the product was named: 1,005 yuan on an unnamed card leaves nothing, not −5 yuan."""
    card = factories.card(session, unnamed, principal_fen=100_500)
    assert cap_room_fen(session, card, unnamed) == 0
    one_fen_over = factories.card(session, unnamed, principal_fen=100_000, bonus_fen=1)
    assert cap_room_fen(session, one_fen_over, unnamed) == 0


def test_an_unpaid_top_up_holds_its_amount_and_bonus(session, named):
    card = factories.card(session, named, principal_fen=100_000)
    _top_up(session, card, 30_000, 3_000)  # 充300送30, not paid yet
    assert pending_top_ups_fen(session, card.id) == 33_000
    assert cap_room_fen(session, card, named) == 500_000 - 100_000 - 33_000
    _top_up(session, card, 50_000)
    assert pending_top_ups_fen(session, card.id) == 83_000
    assert cap_room_fen(session, card, named) == 317_000


def test_unpaid_top_ups_past_the_room_leave_none(session, named):
    card = factories.card(session, named, principal_fen=200_000)
    _top_up(session, card, 300_000, 30_000)  # paying it would pass the cap by 300 yuan
    assert cap_room_fen(session, card, named) == 0


def test_without_unpaid_top_ups_nothing_is_held(session, named):
    card = factories.card(session, named, principal_fen=100_000)
    assert pending_top_ups_fen(session, card.id) == 0
    assert cap_room_fen(session, card, named) == 400_000


@pytest.mark.parametrize("status", ["paid", "closed", "refunded"])
def test_a_top_up_no_longer_waiting_for_payment_holds_no_room(session, named, status):
    """A paid top-up is in the balance already; a closed or refunded one will never be paid."""
    card = factories.card(session, named, principal_fen=100_000)
    _top_up(session, card, 30_000, 3_000, status=status)
    assert pending_top_ups_fen(session, card.id) == 0
    assert cap_room_fen(session, card, named) == 400_000


def test_another_cards_unpaid_top_up_holds_none_of_this_cards_room(session, named):
    card, other = factories.card(session, named), factories.card(session, named)
    _top_up(session, other, 30_000, 3_000)
    assert cap_room_fen(session, card, named) == 500_000
    assert cap_room_fen(session, other, named) == 467_000


def test_an_unpaid_card_purchase_is_not_a_top_up(session, named):
    card = factories.card(session, named)
    _top_up(session, card, 30_000, purpose="purchase")
    assert pending_top_ups_fen(session, card.id) == 0


def test_an_expired_top_up_frees_its_room_from_the_instant_it_expires(session, named, monkeypatch):
    """WeChat takes no payment once the order has expired; until then it may still be paid."""
    card = factories.card(session, named, principal_fen=100_000)
    order = _top_up(session, card, 30_000, 3_000)
    now = order.expires_at
    monkeypatch.setattr("server.cards.caps.utcnow", lambda: now - timedelta(microseconds=1))
    assert cap_room_fen(session, card, named) == 367_000  # a microsecond before: still payable
    monkeypatch.setattr("server.cards.caps.utcnow", lambda: now)
    assert cap_room_fen(session, card, named) == 400_000
    monkeypatch.setattr("server.cards.caps.utcnow", lambda: now + timedelta(minutes=1))
    assert pending_top_ups_fen(session, card.id) == 0
