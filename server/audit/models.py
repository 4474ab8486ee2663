"""Audit log entries; append-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt


class AuditEntry(CreatedAt, db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "merchant_id", "created_at"),)

    id: Mapped[IntPK]
    #: The merchant concerned; NULL for platform-wide actions.
    merchant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("merchants.id"))
    #: consumer, staff, admin or system.
    actor_type: Mapped[str] = mapped_column(String(20))
    #: Id of the actor.
    actor_id: Mapped[int | None] = mapped_column(BigId)
    #: Dotted action name, e.g. product.submit, card.reveal, redemption.reverse.
    action: Mapped[str] = mapped_column(String(60), index=True)
    #: Kind of the thing acted on.
    target_type: Mapped[str | None] = mapped_column(String(30))
    #: Its id.
    target_id: Mapped[int | None] = mapped_column(BigId)
    #: Non-secret details (old/new status, comment, amounts).
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Client address of the request.
    ip: Mapped[str | None] = mapped_column(String(45))
