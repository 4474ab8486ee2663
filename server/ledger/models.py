"""The append-only double-entry ledger: journals and their entries.

Each entry's ``amount`` is the signed change of its account's balance. A card's accounts hold
what the merchant owes the holder, so their balances are positive; the counterpart accounts
(WeChat clearing, promotion, points/uses issuance) go negative as value flows out of them.
Entries of one journal sum to zero per unit.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, one_of
from server.modes import ModeScoped


class JournalKind(StrEnum):
    ISSUE = "issue"
    TOP_UP = "top_up"
    REDEEM = "redeem"
    REVERSE = "reverse"
    REFUND = "refund"
    EXPIRE = "expire"
    ADJUST = "adjust"
    #: A lost named card's value moved to its replacement (补办).
    REPLACE = "replace"
    #: Points exchanged for a reward (积分兑换).
    EXCHANGE = "exchange"


class ActorType(StrEnum):
    CONSUMER = "consumer"
    STAFF = "staff"
    SYSTEM = "system"


class Unit(StrEnum):
    FEN = "fen"
    POINTS = "points"
    USES = "uses"


class Journal(ModeScoped, CreatedAt, db.Model):
    """One business event that moved value; never updated or deleted."""

    __tablename__ = "journals"
    __table_args__ = (
        one_of("kind", JournalKind),
        one_of("actor_type", ActorType),
        UniqueConstraint("merchant_id", "idempotency_key"),
        Index(None, "merchant_id", "created_at"),
    )

    id: Mapped[IntPK]
    #: The tenant; no index of its own: the composite indexes above lead with it.
    merchant_id: Mapped[int] = merchant_fk(index=False)
    #: issue, top_up, redeem, reverse, refund, expire, adjust or replace.
    kind: Mapped[str] = mapped_column(String(20))
    #: consumer, staff or system.
    actor_type: Mapped[str] = mapped_column(String(20))
    #: Id of the consumer or staff member; NULL for the system.
    actor_id: Mapped[int | None] = mapped_column(BigId)
    #: Store where it happened, if any.
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stores.id"))
    #: What the journal records: order, redemption, refund, transfer, …
    ref_type: Mapped[str | None] = mapped_column(String(30))
    #: Id of that record.
    ref_id: Mapped[int | None] = mapped_column(BigId)
    #: Unique per merchant: the same business event can never be booked twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    #: The journal this one reverses.
    reverses_journal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journals.id"), unique=True)
    #: Free-text note for auditors.
    memo: Mapped[str | None] = mapped_column(String(200))

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="journal", lazy="selectin")


class LedgerEntry(ModeScoped, CreatedAt, db.Model):
    """One leg of a journal: ``amount`` units into ``account`` (negative = out of it).

    ``bucket``, ``kind``, ``store_id`` and ``created_at`` repeat the account's and journal's facts so
    that liability reports over millions of entries read one indexed table.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        one_of("unit", Unit),
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        Index(None, "card_id", "id"),
        Index(None, "merchant_id", "account"),
        Index("ix_ledger_entries_report", "merchant_id", "created_at", "bucket"),
        # The card sales of a period (reports' by-channel income): issue entries only, a few among
        # millions, so the index costs no redemption or top-up anything.
        Index("ix_ledger_entries_issues", "merchant_id", "created_at",
              postgresql_where=text("kind = 'issue'"), sqlite_where=text("kind = 'issue'")),
    )

    id: Mapped[IntPK]
    journal_id: Mapped[int] = mapped_column(BigId, ForeignKey("journals.id"), index=True)
    #: The tenant; no index of its own: the composite indexes above lead with it.
    merchant_id: Mapped[int] = merchant_fk(index=False)
    #: Account name, e.g. card:42:principal or merchant:7:revenue.
    account: Mapped[str] = mapped_column(String(80))
    #: The account's last segment (principal, bonus, points, uses, revenue, …), for aggregate reports.
    bucket: Mapped[str] = mapped_column(String(20))
    #: The journal's kind, copied so reports aggregate one table.
    kind: Mapped[str] = mapped_column(String(20))
    #: The journal's store, copied for per-store reports.
    store_id: Mapped[int | None] = mapped_column(BigId)
    #: The card of a card account (NULL for merchant accounts), for per-card statements.
    card_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cards.id"))
    #: fen, points or uses.
    unit: Mapped[str] = mapped_column(String(10))
    #: Signed change of the account's balance.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The card account's balance after this entry (card accounts only).
    balance_after: Mapped[int | None] = mapped_column(BigInteger)

    journal: Mapped[Journal] = relationship(back_populates="entries")
