"""Small helpers the model modules share."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, utcnow


def one_of(column: str, values: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """CHECK that a string column holds one of an enum's values (portable, unlike native enums)."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_valid")


def non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} >= 0", name=f"{c}_non_negative") for c in columns]


def merchant_fk(*, index: bool = True) -> Mapped[int]:
    """The tenant column every merchant-owned table carries (the future Citus distribution key).
    ``index=False`` where composite indexes lead with it: an index of its own would only cost writes."""
    return mapped_column(BigId, ForeignKey("merchants.id"), index=index)


class CreatedAt:
    """Mixin: when the row was written."""

    #: When the row was created (UTC).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
