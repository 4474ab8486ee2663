"""Daily roll-ups of the ledger, so reports over millions of entries read a few thousand rows.

The ledger is append-only and every entry is stamped when it is booked, so once a day has ended
(plus a safety margin for transactions still committing) its totals can never change: they are
computed once and kept.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk
from server.modes import ModeScoped


class LedgerDay(ModeScoped, CreatedAt, db.Model):
    """A (merchant, Shanghai day) whose totals have been rolled up; unique, so a day is rolled up once."""

    __tablename__ = "ledger_days"
    __table_args__ = (UniqueConstraint("merchant_id", "mode", "day"),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The Asia/Shanghai calendar day.
    day: Mapped[date]


class LedgerDayTotal(ModeScoped, db.Model):
    """Sum of one day's entries of one (journal kind, bucket, store, channel)."""

    __tablename__ = "ledger_day_totals"
    __table_args__ = (Index("ix_ledger_day_totals_lookup", "merchant_id", "day"),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The Asia/Shanghai calendar day.
    day: Mapped[date]
    #: Journal kind of the entries.
    kind: Mapped[str] = mapped_column(String(20))
    #: Account bucket of the entries (principal, bonus, refunds, …).
    bucket: Mapped[str] = mapped_column(String(20))
    #: Store of the journals; NULL for online events.
    store_id: Mapped[int | None] = mapped_column(BigId)
    #: Channel of the card's batch; NULL for merchant accounts and cards without a batch.
    channel_id: Mapped[int | None] = mapped_column(BigId)
    #: Sum of the entries' amounts.
    amount: Mapped[int] = mapped_column(BigInteger)
