"""Status-transition tables: what each lifecycle allows, and the refusal a person sees otherwise."""

from __future__ import annotations

import pytest

from server.cards.models import CARD_LIFECYCLE, CardStatus
from server.errors import Conflict
from server.issuance.models import BATCH_LIFECYCLE, BatchStatus
from server.payments.models import ORDER_LIFECYCLE, REFUND_LIFECYCLE, OrderStatus, RefundStatus
from server.products.models import PRODUCT_LIFECYCLE, ProductStatus
from server.redemption.models import REDEMPTION_LIFECYCLE, RedemptionStatus


class Row:
    def __init__(self, status: str) -> None:
        self.status = status


def test_an_order_is_paid_once_even_after_it_was_closed():
    assert set(ORDER_LIFECYCLE.sources("pay")) == {OrderStatus.PENDING, OrderStatus.CLOSED}
    order = Row(OrderStatus.PAID)
    with pytest.raises(Conflict) as refused:
        ORDER_LIFECYCLE.apply(order, "pay")
    assert refused.value.code == "STATE_CONFLICT"
    assert order.status == OrderStatus.PAID


def test_a_refunded_card_cannot_come_back_or_be_refunded_again():
    card = Row(CardStatus.ACTIVE)
    assert CARD_LIFECYCLE.apply(card, "refund") == (CardStatus.ACTIVE, CardStatus.REFUNDED)
    for event in ("refund", "reactivate", "unfreeze", "expire"):
        assert not CARD_LIFECYCLE.allows(card.status, event)
        with pytest.raises(Conflict):
            CARD_LIFECYCLE.apply(card, event)


def test_only_an_expired_card_is_reactivated_and_a_frozen_one_can_still_be_refunded():
    assert CARD_LIFECYCLE.sources("reactivate") == (CardStatus.EXPIRED,)
    assert CARD_LIFECYCLE.allows(CardStatus.FROZEN, "refund")


def test_a_printed_card_is_activated_once_and_a_replaced_card_is_done_for():
    card = Row(CardStatus.INACTIVE)
    for event in ("report_lost", "replace", "refund", "expire"):
        assert not CARD_LIFECYCLE.allows(card.status, event)
    assert CARD_LIFECYCLE.apply(card, "activate") == (CardStatus.INACTIVE, CardStatus.ACTIVE)
    with pytest.raises(Conflict):
        CARD_LIFECYCLE.apply(card, "activate")
    assert CARD_LIFECYCLE.apply(card, "report_lost") == (CardStatus.ACTIVE, CardStatus.FROZEN)
    assert set(CARD_LIFECYCLE.sources("replace")) == {CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED}
    CARD_LIFECYCLE.apply(card, "replace")
    for event in ("activate", "replace", "refund", "reactivate", "unfreeze", "report_lost"):
        assert not CARD_LIFECYCLE.allows(card.status, event)


def test_a_redemption_is_reversed_at_most_once():
    redemption = Row(RedemptionStatus.COMPLETED)
    REDEMPTION_LIFECYCLE.apply(redemption, "reverse")
    with pytest.raises(Conflict) as refused:
        REDEMPTION_LIFECYCLE.apply(redemption, "reverse")
    assert refused.value.details == {"status": "reversed", "event": "reverse"}


def test_a_refund_ends_once():
    assert REFUND_LIFECYCLE.target(RefundStatus.PENDING, "fail") == RefundStatus.FAILED
    with pytest.raises(Conflict):
        REFUND_LIFECYCLE.target(RefundStatus.SUCCEEDED, "fail")


def test_a_batch_is_approved_only_while_it_waits_and_a_closed_batch_stays_closed():
    assert BATCH_LIFECYCLE.target(BatchStatus.PENDING_APPROVAL, "approve") == BatchStatus.ACTIVE
    assert not BATCH_LIFECYCLE.allows(BatchStatus.ACTIVE, "approve")
    assert not any(BATCH_LIFECYCLE.allows(BatchStatus.CLOSED, event) for event in ("resume", "pause", "approve"))


def test_editing_a_rejected_product_returns_it_to_draft_and_a_published_one_is_not_editable():
    product = Row(ProductStatus.REJECTED)
    PRODUCT_LIFECYCLE.apply(product, "edit")
    assert product.status == ProductStatus.DRAFT
    assert not PRODUCT_LIFECYCLE.allows(ProductStatus.PUBLISHED, "edit")
