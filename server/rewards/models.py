"""Rewards a merchant offers for points (积分兑换), and each exchange of one."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import ModeScoped


class RewardKind(StrEnum):
    #: Goods handed over at the counter (a coffee, a mug): only points move.
    GOODS = "goods"
    #: Stored value added to a stored-value card as bonus (from promotion).
    STORED_VALUE = "stored_value"
    #: Uses added to a count card (from uses issuance).
    USES = "uses"


class Reward(CreatedAt, db.Model):
    """One item of the catalogue: what it gives, its price in points, and how many are left."""

    __tablename__ = "rewards"
    __table_args__ = (
        one_of("kind", RewardKind),
        CheckConstraint("points_price > 0", name="points_price_positive"),
        *non_negative("stock", "value_fen", "uses"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: What the member sees, e.g. 美式咖啡一杯, 10元储值, 洗车1次.
    name: Mapped[str] = mapped_column(String(100))
    #: goods, stored_value or uses.
    kind: Mapped[str] = mapped_column(String(20))
    #: Points the exchange costs.
    points_price: Mapped[int]
    #: Exchanges left; a conditional UPDATE takes one, so it never goes below zero.
    stock: Mapped[int] = mapped_column(default=0)
    #: Stored value given (stored_value rewards), fen.
    value_fen: Mapped[int] = mapped_column(default=0)
    #: Uses given (uses rewards).
    uses: Mapped[int] = mapped_column(default=0)
    #: Offered now; a withdrawn reward keeps its past exchanges.
    active: Mapped[bool] = mapped_column(default=True)


class RewardExchange(ModeScoped, CreatedAt, db.Model):
    """A card's points exchanged for a reward, at the counter or in the mini-program."""

    __tablename__ = "reward_exchanges"

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    reward_id: Mapped[int] = mapped_column(BigId, ForeignKey("rewards.id"), index=True)
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    #: The ledger journal that booked it.
    journal_id: Mapped[int] = mapped_column(BigId, ForeignKey("journals.id"))
    #: Points paid.
    points: Mapped[int]
    #: staff or consumer, and who.
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(BigId)
    #: Where it was handed over (counter exchanges).
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stores.id"))
