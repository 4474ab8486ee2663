"""issue_card: numbers, encrypted secrets, expiry and the opening journal for every kind of card."""

from datetime import date, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from server.audit.models import AuditEntry
from server.cards import services as card_services
from server.cards.models import Card
from server.cards.numbers import is_valid_card_no
from server.cards.services import issue_card, reveal_secret
from server.consumers.models import Consumer
from server.crypto import decrypt
from server.db import utcnow
from server.errors import Conflict, NotFound
from server.issuance.models import Batch, Channel
from server.ledger.models import ActorType, Journal, LedgerEntry
from server.ledger.services import verify_ledger
from server.timeutil import SHANGHAI
from tests import factories
from tests.issuance_support import STORED_VALUE


@pytest.fixture
def world(session):
    """A merchant, a channel and a consumer; ``world.issue(kind=…, paid_fen=…, **product)`` issues a card."""

    class World:
        merchant = factories.merchant(session)
        channel = Channel(merchant_id=merchant.id, name="小程序", kind="miniprogram")
        consumer = Consumer(openid="o-world")
        session.add_all([channel, consumer])
        session.flush()

        def product(self, **fields):
            return factories.product(session, self.merchant, **{**STORED_VALUE, **fields})

        def batch(self, product, **fields):
            row = Batch(merchant_id=self.merchant.id, product_id=product.id, channel_id=self.channel.id,
                        name="批次", quantity=10, issue_method="claim", status="active", **fields)
            session.add(row)
            session.flush()
            return row

        def issue(self, paid_fen=0, product=None, idempotency_key=None, **fields):
            product = product or self.product(**fields)
            return issue_card(session, current_app.config, product=product, batch=self.batch(product),
                              owner_id=self.consumer.id, paid_fen=paid_fen, actor_type=ActorType.CONSUMER,
                              actor_id=self.consumer.id, idempotency_key=idempotency_key)

    return World()


def _entries(session, card):
    """{account name without its owner: amount} of the card's opening journal ({} when there is none)."""
    journal = session.scalar(select(Journal).where(Journal.ref_type == "card", Journal.ref_id == card.id))
    return {entry.account.rsplit(":", 1)[1]: entry.amount for entry in journal.entries} if journal else {}


def test_a_card_is_active_numbered_by_the_product_rule_and_owned(world, session):
    card = world.issue()
    assert card.status == "active"
    assert card.card_no.startswith("6201") and len(card.card_no) == 16 and is_valid_card_no(card.card_no)
    assert card.owner_id == card.issued_to_id == world.consumer.id
    assert card.activated_at is not None


def test_paid_stored_value_is_principal_from_wechat_clearing(world, session):
    card = world.issue(paid_fen=10000)
    assert (card.principal_fen, card.bonus_fen) == (10000, 0)
    assert _entries(session, card) == {"principal": 10000, "wechat_clearing": -10000}
    assert verify_ledger(session) == []


def test_free_stored_value_is_bonus_from_promotion(world, session):
    card = world.issue(paid_fen=0)
    assert (card.principal_fen, card.bonus_fen) == (0, 10000)
    assert _entries(session, card) == {"bonus": 10000, "promotion": -10000}


def test_a_discounted_sale_is_principal_for_the_price_and_bonus_for_the_rest(world, session):
    card = world.issue(paid_fen=8000)
    assert (card.principal_fen, card.bonus_fen, card.balance_fen) == (8000, 2000, 10000)
    assert _entries(session, card) == {"principal": 8000, "wechat_clearing": -8000, "bonus": 2000, "promotion": -2000}


def test_stored_value_cannot_be_sold_above_face_value(world):
    with pytest.raises(ValueError):
        world.issue(paid_fen=10001)


def test_count_card_gets_its_uses_and_the_price_as_principal(world, session):
    card = world.issue(paid_fen=58000, kind="count", face_value_fen=58000, uses=10)
    assert (card.uses_remaining, card.principal_fen, card.bonus_fen) == (10, 58000, 0)
    assert _entries(session, card) == {"uses": 10, "uses_issuance": -10, "principal": 58000, "wechat_clearing": -58000}


def test_a_free_count_card_gets_only_its_uses(world, session):
    card = world.issue(kind="count", face_value_fen=0, uses=3)
    assert (card.uses_remaining, card.principal_fen) == (3, 0)
    assert _entries(session, card) == {"uses": 3, "uses_issuance": -3}


def test_a_price_paid_for_a_points_card_is_revenue_and_a_free_one_books_nothing(world, session):
    paid = world.issue(paid_fen=990, kind="points", face_value_fen=0)
    assert (paid.balance_fen, paid.points) == (0, 0)
    assert _entries(session, paid) == {"revenue": 990, "wechat_clearing": -990}
    free = world.issue(kind="discount", face_value_fen=0, discount_percent=88)
    assert _entries(session, free) == {}
    assert verify_ledger(session) == []


def test_permanent_cards_never_expire(world):
    assert world.issue().expires_at is None


def test_fixed_validity_ends_at_the_last_second_of_the_end_date_in_shanghai(world):
    end = (utcnow() + timedelta(days=30)).astimezone(SHANGHAI).date()
    card = world.issue(validity={"type": "fixed", "start": "2020-01-01", "end": end.isoformat()})
    local = card.expires_at.astimezone(SHANGHAI)
    assert (local.date(), local.hour, local.minute, local.second) == (end, 23, 59, 59)


def test_relative_validity_counts_days_from_activation(world):
    card = world.issue(validity={"type": "relative", "days": 365})
    assert card.expires_at - card.activated_at == timedelta(days=365)


def test_a_product_whose_fixed_validity_has_ended_issues_nothing(world):
    with pytest.raises(Conflict):
        world.issue(validity={"type": "fixed", "start": "2020-01-01", "end": date(2021, 1, 1).isoformat()})


def test_the_secret_is_encrypted_at_rest_and_decrypts_only_with_the_key(world, session):
    card = world.issue()
    stored = session.execute(text("SELECT secret_encrypted FROM cards WHERE id = :id"), {"id": card.id}).scalar_one()
    secret = decrypt(current_app.config, stored)
    assert len(secret) == 12 and secret.isdigit()
    assert secret not in stored
    row = session.execute(text("SELECT * FROM cards WHERE id = :id"), {"id": card.id}).one()
    assert not any(secret in str(value) for value in row)
    with pytest.raises(ValueError):
        decrypt({"SECRET_KEY": "another-key"}, stored)


def test_a_taken_number_is_skipped(world, session, monkeypatch):
    taken = world.issue().card_no
    fresh = "6201" + "0" * 11 + "5"
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(card_services, "generate_card_no", lambda prefix, length: next(draws))
    assert world.issue().card_no == fresh


def test_a_collision_the_lookup_missed_is_retried_inside_a_savepoint(world, session, monkeypatch):
    """A concurrent twin inserted the number between lookup and insert: only the savepoint is undone."""
    first = world.issue()
    draws = iter([first.card_no, "6201" + "0" * 11 + "5"])
    monkeypatch.setattr(card_services, "generate_card_no", lambda prefix, length: next(draws))
    lookups = iter([None, first.id, None])  # miss, then see the twin after the failed insert, then a free number
    real_scalar = session.scalar

    def scalar(stmt, *args, **kwargs):
        if "cards.card_no" in str(stmt):
            return next(lookups)
        return real_scalar(stmt, *args, **kwargs)

    monkeypatch.setattr(session, "scalar", scalar)
    second = world.issue()
    monkeypatch.undo()
    session.commit()
    assert second.card_no == "6201" + "0" * 11 + "5"
    assert session.scalar(select(func.count()).select_from(Card)) == 2
    assert verify_ledger(session) == []


def test_an_exhausted_number_space_is_a_conflict(world, monkeypatch):
    taken = world.issue().card_no
    monkeypatch.setattr(card_services, "generate_card_no", lambda prefix, length: taken)
    with pytest.raises(Conflict):
        world.issue()


def test_an_idempotency_key_issues_once(world, session):
    product = world.product()
    batch = world.batch(product)

    def issue():
        return issue_card(session, current_app.config, product=product, batch=batch, owner_id=world.consumer.id,
                          paid_fen=10000, actor_type=ActorType.SYSTEM, actor_id=None,
                          idempotency_key="purchase:ORDER1")

    assert issue().id == issue().id
    assert session.scalar(select(func.count()).select_from(Card)) == 1
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 2


def test_the_owner_reveals_the_secret_and_the_reveal_is_audited_without_it(world, session):
    card = world.issue()
    revealed = reveal_secret(session, current_app.config, card_id=card.id, consumer_id=world.consumer.id,
                             ip="10.0.0.1")
    assert revealed == {"card_no": card.card_no, "secret": decrypt(current_app.config, card.secret_encrypted)}
    session.flush()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "card.reveal"))
    assert (entry.target_id, entry.actor_id, entry.ip) == (card.id, world.consumer.id, "10.0.0.1")
    assert revealed["secret"] not in str(entry.detail)


def test_nobody_else_can_reveal_a_card(world, session):
    card = world.issue()
    stranger = Consumer(openid="o-stranger")
    session.add(stranger)
    session.flush()
    for consumer_id, card_id in ((stranger.id, card.id), (world.consumer.id, card.id + 1000)):
        with pytest.raises(NotFound):
            reveal_secret(session, current_app.config, card_id=card_id, consumer_id=consumer_id, ip=None)
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "card.reveal")) == 0
