"""The rewards catalogue and points exchange (积分兑换, source document 000).

An exchange is one ledger journal: the card's points go to ``points_redeemed``; a stored-value
reward adds bonus from ``promotion`` (what the gift costs the merchant, as any bonus does), a uses
reward adds uses from ``uses_issuance``; goods move only points. Points earned on any card kind —
points, stored-value, discount — are spendable. The card row is locked, its points checked under
the lock, and one conditional UPDATE takes a unit of stock, so two exchanges never oversell or
overspend.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.cards.caps import cap_room_fen
from server.cards.models import Card, CardStatus
from server.cards.serializers import mask_card_no
from server.cards.services import owned_card
from server.db import utcnow
from server.errors import (
    BusinessRuleError,
    CardExpired,
    CardNotActive,
    InsufficientPoints,
    NotFound,
    SoldOut,
    ValidationError,
)
from server.ledger.accounts import CardBucket, MerchantAccount
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import card_to_merchant, lock_cards, post_journal
from server.merchants.services import get_store
from server.modes import Mode, session_mode
from server.products.models import CardProduct
from server.rewards.models import Reward, RewardExchange, RewardKind

#: The card kind a reward's value goes onto (goods suit every card).
_CARD_KIND = {RewardKind.STORED_VALUE: "stored_value", RewardKind.USES: "count"}


def create_reward(session: Session, actor: Principal, *, name: str, kind: str, points_price: int, stock: int,
                  value_fen: int = 0, uses: int = 0) -> Reward:
    """A catalogue item; it must give what its kind says (value for stored value, uses for uses)."""
    problems = {}
    if kind == RewardKind.STORED_VALUE and value_fen <= 0:
        problems["value_fen"] = "请填写赠送的储值金额"
    if kind == RewardKind.USES and uses <= 0:
        problems["uses"] = "请填写赠送的次数"
    if problems:
        raise ValidationError(problems)
    reward = Reward(merchant_id=actor.merchant_id, name=name, kind=kind, points_price=points_price, stock=stock,
                    value_fen=value_fen if kind == RewardKind.STORED_VALUE else 0,
                    uses=uses if kind == RewardKind.USES else 0)
    session.add(reward)
    session.flush()
    record(session, action="reward.create", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="reward", target_id=reward.id,
           detail={"name": name, "points_price": points_price, "stock": stock, "value_fen": reward.value_fen,
                   "uses": reward.uses})
    return reward


def list_rewards(session: Session, merchant_id: int, *, active_only: bool = False) -> list[Reward]:
    stmt = select(Reward).where(Reward.merchant_id == merchant_id)
    if active_only:
        stmt = stmt.where(Reward.active.is_(True), Reward.stock > 0)
    return list(session.scalars(stmt.order_by(Reward.points_price, Reward.id)))


def rewards_for_card(session: Session, card: Card) -> list[Reward]:
    """The rewards the card could take: active, in stock, suiting its kind."""
    kind = session.get(CardProduct, card.product_id).kind
    return [reward for reward in list_rewards(session, card.merchant_id, active_only=True)
            if _CARD_KIND.get(RewardKind(reward.kind), kind) == kind]


def exchange(session: Session, *, card: Card, reward_id: int, actor_type: ActorType, actor_id: int | None,
             store_id: int | None = None) -> dict[str, Any]:
    """Exchange the card's points for a reward; returns the exchange's receipt."""
    card = lock_cards(session, [card.id])[card.id]
    reward = session.get(Reward, reward_id)
    if reward is None or reward.merchant_id != card.merchant_id or not reward.active:
        raise NotFound("兑换商品不存在")
    now = utcnow()
    if card.status == CardStatus.EXPIRED or (card.expires_at is not None and card.expires_at <= now):
        raise CardExpired()
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive(details={"status": card.status})
    product = session.get(CardProduct, card.product_id)
    wanted = _CARD_KIND.get(RewardKind(reward.kind))
    if wanted is not None and product.kind != wanted:
        raise ValidationError({"reward_id": "储值奖励只能兑换到储值卡，次数奖励只能兑换到次卡"})
    if card.points < reward.points_price:
        raise InsufficientPoints(details={"points": card.points, "points_price": reward.points_price})
    room = cap_room_fen(session, card, product) if reward.value_fen else 0
    if reward.value_fen > room:  # stored value is held to the card's legal cap like any top-up
        raise BusinessRuleError("兑换后余额将超过单张卡的法定上限", code="AMOUNT_NOT_ALLOWED",
                                details={"value_fen": reward.value_fen, "room_fen": room})
    # A test exchange takes nothing from the stock, as a test card counts against no live batch.
    in_stock = reward.stock > 0 if session_mode(session) == Mode.TEST else session.execute(
        update(Reward).where(Reward.id == reward.id, Reward.stock > 0)
        .values(stock=Reward.stock - 1).execution_options(synchronize_session=False)).rowcount == 1
    if not in_stock:
        raise SoldOut("该兑换商品已兑完")
    legs = [
        (CardBucket.POINTS, MerchantAccount.POINTS_REDEEMED, reward.points_price),
        (CardBucket.BONUS, MerchantAccount.PROMOTION, -reward.value_fen),
        (CardBucket.USES, MerchantAccount.USES_ISSUANCE, -reward.uses),
    ]
    journal = post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.EXCHANGE,
                           postings=card_to_merchant(card.id, card.merchant_id, legs), actor_type=actor_type,
                           actor_id=actor_id, store_id=store_id, ref_type="reward", ref_id=reward.id,
                           locked={card.id: card})
    row = RewardExchange(merchant_id=card.merchant_id, reward_id=reward.id, card_id=card.id, journal_id=journal.id,
                         points=reward.points_price, actor_type=actor_type, actor_id=actor_id, store_id=store_id)
    session.add(row)
    session.flush()
    record(session, action="reward.exchange", actor_type=actor_type, actor_id=actor_id, merchant_id=card.merchant_id,
           target_type="card", target_id=card.id,
           detail={"name": reward.name, "points": reward.points_price, "value_fen": reward.value_fen,
                   "uses": reward.uses, **({"store_id": store_id} if store_id else {})})
    return {"exchange_id": row.id, "reward_id": reward.id, "reward_name": reward.name, "kind": reward.kind,
            "points_spent": reward.points_price, "value_fen": reward.value_fen, "uses": reward.uses,
            "card_id": card.id, "card_no_masked": mask_card_no(card.card_no), "points_balance": card.points,
            "balance_fen": card.balance_fen, "remaining_uses": card.uses_remaining}


def staff_exchange(session: Session, actor: Principal, card_no: str, reward_id: int, store_id: int) -> dict[str, Any]:
    """At the counter: the merchant's card by number, handed over at the caller's store."""
    card = session.scalar(select(Card).where(Card.card_no == card_no))
    if card is None or card.merchant_id != actor.merchant_id:
        raise NotFound("卡不存在")
    get_store(session, actor.merchant_id, store_id)
    if actor.store_id is not None and actor.store_id != store_id:
        raise ValidationError({"store_id": "只能在本门店兑换"})
    return exchange(session, card=card, reward_id=reward_id, actor_type=ActorType.STAFF, actor_id=actor.id,
                    store_id=store_id)


def reward_view(reward: Reward) -> dict[str, Any]:
    """A reward as the mini-program shows it."""
    return {"reward_id": reward.id, "name": reward.name, "kind": reward.kind, "points_price": reward.points_price,
            "stock": reward.stock, "value_fen": reward.value_fen, "uses": reward.uses}


def consumer_rewards(session: Session, consumer_id: int, card_id: int) -> list[dict[str, Any]]:
    """What the consumer's own card could take now."""
    return [reward_view(r) for r in rewards_for_card(session, owned_card(session, card_id, consumer_id))]


def consumer_exchange(session: Session, consumer_id: int, card_id: int, reward_id: int) -> dict[str, Any]:
    """The consumer exchanges their own card's points (another consumer's card does not exist)."""
    return exchange(session, card=owned_card(session, card_id, consumer_id), reward_id=reward_id,
                    actor_type=ActorType.CONSUMER, actor_id=consumer_id)
