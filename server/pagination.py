"""Keyset pagination of docs/api.md lists: ``?limit=`` (default 20, max 100) and an opaque ``?cursor=``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.db import INT64_MAX
from server.errors import ValidationError
from server.schemas import Schema


class PageArgs(Schema):
    """Query arguments of every list endpoint."""

    class Meta:
        unknown = ma.EXCLUDE  # list endpoints add their own filters

    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))
    cursor = ma.fields.String(load_default=None)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        last_id = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"cursor": "游标无效"}) from None
    if not 0 <= last_id <= INT64_MAX:  # an id the BIGINT column can compare with
        raise ValidationError({"cursor": "游标无效"})
    return last_id


def paginate(
    session: Session,
    stmt: Select,
    id_column: InstrumentedAttribute,
    *,
    limit: int,
    cursor: str | None,
    serialize: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Newest first by id; ``next_cursor`` is null on the last page."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [serialize(row) for row in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
    }
