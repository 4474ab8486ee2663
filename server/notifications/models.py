"""The outbox of subscribe messages: written in the business transaction, sent after commit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, one_of


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(CreatedAt, db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (one_of("status", OutboxStatus), Index(None, "status", "id"))

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    consumer_id: Mapped[int] = mapped_column(BigId, ForeignKey("consumers.id"))
    #: Which message: redemption or top_up (template id comes from config).
    template_key: Mapped[str] = mapped_column(String(30))
    #: Template data fields.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: pending, sent or failed (gave up).
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    #: Delivery attempts so far.
    attempts: Mapped[int] = mapped_column(default=0)
    #: WeChat's last error, e.g. 43101.
    last_error: Mapped[str | None] = mapped_column(String(200))
    #: When WeChat accepted it.
    sent_at: Mapped[datetime | None]
