"""The numbers a product's cards get: its own rule, or 16 digits when it names none."""

import pytest
from flask import current_app

from server.cards.numbers import is_valid_card_no
from server.cards.services import issue_card
from server.consumers.models import Consumer
from server.issuance.models import Batch, Channel
from server.ledger.models import ActorType
from tests import factories


def _issue(session, **product_fields):
    merchant = factories.merchant(session)
    channel = Channel(merchant_id=merchant.id, name="小程序", kind="miniprogram")
    consumer = Consumer(openid="o-numbers")
    session.add_all([channel, consumer])
    session.flush()
    product = factories.product(session, merchant, **product_fields)
    batch = Batch(merchant_id=merchant.id, product_id=product.id, channel_id=channel.id, name="批次", quantity=10,
                  issue_method="claim", status="active")
    session.add(batch)
    session.flush()
    return issue_card(session, current_app.config, product=product, batch=batch, owner_id=consumer.id, paid_fen=0,
                      actor_type=ActorType.CONSUMER, actor_id=consumer.id)


@pytest.mark.parametrize("rule", [None, {}, {"prefix": "88"}])
def test_a_product_without_a_length_numbers_its_cards_with_16_digits(session, rule):
    card = _issue(session, card_no_rule=rule)
    assert len(card.card_no) == 16 and is_valid_card_no(card.card_no)
    assert card.card_no.startswith((rule or {}).get("prefix", ""))


def test_a_product_rule_sets_prefix_and_length(session):
    card = _issue(session, card_no_rule={"prefix": "6201", "length": 19})
    assert len(card.card_no) == 19 and card.card_no.startswith("6201") and is_valid_card_no(card.card_no)
