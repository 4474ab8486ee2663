"""Channels, issuance batches, their approvals and redemption codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import LiveSharedWithTest
from server.transitions import Lifecycle


class ChannelKind(StrEnum):
    MINIPROGRAM = "miniprogram"
    OFFLINE = "offline"
    PARTNER = "partner"
    ECOMMERCE = "ecommerce"


class Channel(CreatedAt, db.Model):
    __tablename__ = "channels"
    __table_args__ = (one_of("kind", ChannelKind), *non_negative("cost_per_card_fen"))

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: Channel name (e.g. 地推-人民广场).
    name: Mapped[str] = mapped_column(String(100))
    #: miniprogram, offline, partner or ecommerce.
    kind: Mapped[str] = mapped_column(String(20))
    #: Cards from this channel may be combined with coupons.
    allow_coupon_stacking: Mapped[bool] = mapped_column(default=True)
    #: Acquisition cost per card, for channel ROI reports.
    cost_per_card_fen: Mapped[int | None]


class IssueMethod(StrEnum):
    CLAIM = "claim"
    PURCHASE = "purchase"
    CODE = "code"
    #: Printed cards (实体卡), all created when the batch becomes active and sold at the counter.
    PHYSICAL = "physical"


class BatchStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


#: A prepaid batch waits for its approvals; others start active.
BATCH_LIFECYCLE = Lifecycle(BatchStatus, {
    (BatchStatus.PENDING_APPROVAL, "approve"): BatchStatus.ACTIVE,
    (BatchStatus.ACTIVE, "pause"): BatchStatus.PAUSED,
    (BatchStatus.PAUSED, "resume"): BatchStatus.ACTIVE,
    (BatchStatus.ACTIVE, "close"): BatchStatus.CLOSED,
    (BatchStatus.PAUSED, "close"): BatchStatus.CLOSED,
}, noun="批次")


class Batch(LiveSharedWithTest, CreatedAt, db.Model):
    """An issuance batch (发行批次) of one published product."""

    __tablename__ = "batches"
    __table_args__ = (
        one_of("issue_method", IssueMethod),
        one_of("status", BatchStatus),
        *non_negative("price_fen", "issued_count", "codes_generated"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("issued_count <= quantity", name="issued_within_quantity"),
        CheckConstraint("codes_generated <= quantity", name="codes_within_quantity"),
        CheckConstraint("per_user_limit IS NULL OR per_user_limit > 0", name="per_user_limit_positive"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("card_products.id"), index=True)
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("channels.id"), index=True)
    #: Batch name.
    name: Mapped[str] = mapped_column(String(100))
    #: Most cards this batch may issue.
    quantity: Mapped[int]
    #: Cards issued so far; raised by a conditional UPDATE so it never passes quantity.
    issued_count: Mapped[int] = mapped_column(default=0)
    #: Redemption codes generated so far (code batches).
    codes_generated: Mapped[int] = mapped_column(default=0)
    #: Price a consumer pays per card (0 for free claims).
    price_fen: Mapped[int] = mapped_column(default=0)
    #: claim, purchase, code or physical.
    issue_method: Mapped[str] = mapped_column(String(20))
    #: Cards one consumer may get from this batch; NULL = unlimited.
    per_user_limit: Mapped[int | None]
    #: Sale window start; NULL = from activation.
    sale_start: Mapped[datetime | None]
    #: Sale window end; NULL = open-ended.
    sale_end: Mapped[datetime | None]
    #: GB/T 2260 codes of the regions the batch is for (a province or city covers its districts): its
    #: cards are redeemed only at stores there. Empty = everywhere.
    region_codes: Mapped[list[Any]] = mapped_column(default=list)
    #: pending_approval until operations and finance approve a prepaid batch.
    status: Mapped[str] = mapped_column(String(20), default=BatchStatus.PENDING_APPROVAL, index=True)
    #: Staff member who created the batch.
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))


class BatchApproval(CreatedAt, db.Model):
    """One of the two approvals (operations, finance) a prepaid batch needs."""

    __tablename__ = "batch_approvals"
    __table_args__ = (
        UniqueConstraint("batch_id", "role"),
        CheckConstraint("role IN ('operations', 'finance')", name="role_valid"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("batches.id"), index=True)
    #: The approver.
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    #: operations or finance.
    role: Mapped[str] = mapped_column(String(20))


class CodeStatus(StrEnum):
    UNUSED = "unused"
    BOUND = "bound"
    VOID = "void"


class RedemptionCode(CreatedAt, db.Model):
    """A redemption code (兑换码); only its keyed hash is stored."""

    __tablename__ = "redemption_codes"
    __table_args__ = (one_of("status", CodeStatus),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("batches.id"), index=True)
    #: HMAC-SHA256 of the code under CODE_HASH_KEY, hex.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: unused, bound or void.
    status: Mapped[str] = mapped_column(String(10), default=CodeStatus.UNUSED)
    #: The card the code was bound to.
    card_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cards.id"))
    #: When it was bound.
    bound_at: Mapped[datetime | None]
