"""Redemptions: a cashier taking value from a card for a bill."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import ModeScoped
from server.transitions import Lifecycle


class RedemptionStatus(StrEnum):
    COMPLETED = "completed"
    REVERSED = "reversed"


#: A redemption is reversed at most once.
REDEMPTION_LIFECYCLE = Lifecycle(RedemptionStatus, {
    (RedemptionStatus.COMPLETED, "reverse"): RedemptionStatus.REVERSED,
}, noun="核销记录")


class Redemption(ModeScoped, CreatedAt, db.Model):
    __tablename__ = "redemptions"
    __table_args__ = (
        one_of("status", RedemptionStatus),
        *non_negative(
            "bill_fen", "payable_fen", "deducted_fen", "deducted_principal_fen", "deducted_bonus_fen",
            "uses_deducted", "points_earned", "points_redeemed",
        ),
        Index(None, "merchant_id", "store_id", "created_at"),
    )

    id: Mapped[IntPK]
    #: The tenant; no index of its own: the composite indexes above lead with it.
    merchant_id: Mapped[int] = merchant_fk(index=False)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    #: Cashier who redeemed.
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    #: SHA-256 of the dynamic code used; unique, so one code authorises one successful redemption.
    code_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The ledger journal that took the value; NULL for a discount that moved none.
    journal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journals.id"), unique=True)
    #: The bill before any discount.
    bill_fen: Mapped[int] = mapped_column(default=0)
    #: What the customer owes after discounts.
    payable_fen: Mapped[int] = mapped_column(default=0)
    #: Taken from the card (principal + bonus).
    deducted_fen: Mapped[int] = mapped_column(default=0)
    #: Of which principal.
    deducted_principal_fen: Mapped[int] = mapped_column(default=0)
    #: Of which bonus.
    deducted_bonus_fen: Mapped[int] = mapped_column(default=0)
    #: Uses taken from a count card.
    uses_deducted: Mapped[int] = mapped_column(default=0)
    #: Points earned on the bill.
    points_earned: Mapped[int] = mapped_column(default=0)
    #: Points spent on the bill.
    points_redeemed: Mapped[int] = mapped_column(default=0)
    #: completed or reversed.
    status: Mapped[str] = mapped_column(String(20), default=RedemptionStatus.COMPLETED)
    #: The compensating journal, once reversed.
    reversal_journal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journals.id"), unique=True)
    #: Manager or owner who reversed it.
    reversed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    #: When it was reversed.
    reversed_at: Mapped[datetime | None]
    #: Why it was reversed.
    reversal_reason: Mapped[str | None] = mapped_column(String(200))
