"""The numbers a product's cards get: its own rule, or 16 digits when it names none; a number already
taken is drawn again, up to 8 draws, before issuing gives up."""

import itertools

import pytest
from flask import current_app

from server.cards import services as card_services
from server.cards.numbers import generate_card_no, is_valid_card_no
from server.cards.services import issue_card
from server.consumers.models import Consumer
from server.errors import Conflict
from server.issuance.models import Batch, Channel
from server.ledger.models import ActorType
from tests import factories

_openids = itertools.count(1)


def _issue(session, **product_fields):
    merchant = factories.merchant(session)
    channel = Channel(merchant_id=merchant.id, name="小程序", kind="miniprogram")
    consumer = Consumer(openid=f"o-numbers-{next(_openids)}")
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


def _drawing_taken_numbers(monkeypatch, taken: str, times: int) -> list[str]:
    """The generator draws ``taken`` for its first ``times`` draws, then fresh numbers; returns the draws."""
    draws: list[str] = []

    def draw(prefix, length):
        draws.append(taken if len(draws) < times else generate_card_no(prefix, length))
        return draws[-1]

    monkeypatch.setattr(card_services, "generate_card_no", draw)
    return draws


def test_a_number_already_taken_is_drawn_again_up_to_the_eighth_draw(session, monkeypatch):
    taken = _issue(session).card_no
    draws = _drawing_taken_numbers(monkeypatch, taken, times=7)
    card = _issue(session)
    assert len(draws) == 8 and card.card_no == draws[-1] != taken and is_valid_card_no(card.card_no)


def test_issuing_gives_up_after_eight_taken_numbers(session, monkeypatch):
    taken = _issue(session).card_no
    draws = _drawing_taken_numbers(monkeypatch, taken, times=8)
    with pytest.raises(Conflict, match="卡号即将用尽"):
        _issue(session)
    assert draws == [taken] * 8
