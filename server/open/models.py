"""The open platform's rows: merchants' API keys, their members, the cards issued to those members
with their bind codes, and the external order numbers of top-ups and redemptions booked through it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import Mode, ModeScoped


class Scope(StrEnum):
    CARDS_READ = "cards:read"
    #: Issue, bind, top up.
    CARDS_WRITE = "cards:write"
    #: Redeem and reverse.
    REDEEM = "redeem"
    REPORTS_READ = "reports:read"


class ApiKey(CreatedAt, db.Model):
    """A merchant's API key; only its keyed hash is stored, the key itself is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (
        one_of("mode", Mode),
        CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after_created"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: What the merchant calls it (e.g. ERP 正式环境).
    name: Mapped[str] = mapped_column(String(100))
    #: live or test.
    mode: Mapped[str] = mapped_column(String(10))
    #: Granted scopes, a list of cards:read, cards:write, redeem, reports:read.
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    #: The key's first characters (``kb_live_AbCd``), to recognise it in lists; useless to call with.
    key_prefix: Mapped[str] = mapped_column(String(20))
    #: HMAC-SHA256 of the whole key (hex) under a key derived from CODE_HASH_KEY: the lookup.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The owner who created it; the key acts on their behalf (redemptions and journals name them).
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    #: Last authenticated call, to the minute (written at most once a minute).
    last_used_at: Mapped[datetime | None]
    #: When it was revoked; a revoked key answers 401 from then on.
    revoked_at: Mapped[datetime | None]
    #: Owner who revoked it.
    revoked_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))


class Member(CreatedAt, db.Model):
    """A member of the merchant's own system (ERP/CRM/shop), known by the merchant's id for them."""

    __tablename__ = "open_members"
    __table_args__ = (UniqueConstraint("merchant_id", "external_id"),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The merchant's own member id.
    external_id: Mapped[str] = mapped_column(String(64))
    #: Name as the merchant gave it.
    name: Mapped[str | None] = mapped_column(String(50))
    #: Mobile number, Fernet-encrypted with DATA_ENCRYPTION_KEY.
    mobile_encrypted: Mapped[str | None] = mapped_column(String(200))
    #: Mobile number masked for display (138****1234).
    mobile_masked: Mapped[str | None] = mapped_column(String(20))


class MemberCard(ModeScoped, CreatedAt, db.Model):
    """A card issued to a member through the open API, with the bind code that adds it to a wallet."""

    __tablename__ = "open_member_cards"
    __table_args__ = (
        Index(None, "member_id", "batch_id"),
        CheckConstraint("(bound_at IS NULL) = (bound_consumer_id IS NULL)", name="bound_together"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("open_members.id"))
    #: The card issued.
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), unique=True)
    #: Its batch, for the per-member limit.
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("batches.id"))
    #: The key that issued it.
    api_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_keys.id"), index=True)
    #: HMAC-SHA256 of the bind code under CODE_HASH_KEY, hex (as redemption codes are kept).
    bind_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: When the bind code was used (single use).
    bound_at: Mapped[datetime | None]
    #: The consumer who bound it.
    bound_consumer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consumers.id"))


class ExternalTopUp(ModeScoped, CreatedAt, db.Model):
    """A top-up of money the merchant collected itself, booked to its external clearing account."""

    __tablename__ = "open_top_ups"
    __table_args__ = (
        UniqueConstraint("merchant_id", "mode", "external_order_no"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        *non_negative("bonus_fen"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    #: The key that booked it.
    api_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_keys.id"))
    #: The merchant's order number; unique per merchant, so one order is credited once.
    external_order_no: Mapped[str] = mapped_column(String(64))
    #: Principal credited, fen.
    amount_fen: Mapped[int]
    #: Bonus credited by the product's tiers, fen.
    bonus_fen: Mapped[int] = mapped_column(default=0)
    #: The top-up journal (set in the same transaction, right after the number is claimed).
    journal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journals.id"), unique=True)


class ExternalRedemption(ModeScoped, CreatedAt, db.Model):
    """A redemption booked through the open API, with the merchant's order number when given."""

    __tablename__ = "open_redemptions"
    __table_args__ = (UniqueConstraint("merchant_id", "mode", "external_order_no"),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The key that booked it.
    api_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_keys.id"))
    #: The merchant's order number; unique per merchant when given (NULLs never clash).
    external_order_no: Mapped[str | None] = mapped_column(String(64))
    #: The cashier-style redemption it made (set in the same transaction, right after the number is claimed).
    redemption_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("redemptions.id"), unique=True)
