"""One page of the audit log, newest first, with the names of the people and merchants involved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.db import db
from server.merchants.models import Merchant, Staff
from server.pagination import paginate
from server.platform.models import PlatformAdmin

PAGE_SIZE = 50

#: actor_type → (model, column holding the name shown for the actor).
_ACTOR_NAMES = {"staff": (Staff, Staff.username), "admin": (PlatformAdmin, PlatformAdmin.username)}


def audit_page(merchant_id: int | None, cursor: str | None) -> dict[str, Any]:
    """A merchant's entries (every entry for the platform when None) and ``next_cursor``.

    ``actor_names`` maps (actor_type, actor_id) to a username, ``merchant_names`` an id to a name."""
    stmt = select(AuditEntry)
    if merchant_id is not None:
        stmt = stmt.where(AuditEntry.merchant_id == merchant_id)
    page = paginate(db.session, stmt, AuditEntry.id, limit=PAGE_SIZE, cursor=cursor, serialize=lambda entry: entry)
    entries: list[AuditEntry] = page["items"]
    actor_names: dict[tuple[str, int], str] = {}
    for actor_type, (model, name) in _ACTOR_NAMES.items():
        ids = {e.actor_id for e in entries if e.actor_type == actor_type and e.actor_id is not None}
        for actor_id, username in db.session.execute(select(model.id, name).where(model.id.in_(ids))):
            actor_names[(actor_type, actor_id)] = username
    merchant_ids = {e.merchant_id for e in entries if e.merchant_id is not None}
    merchant_names = dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids)))
                          .tuples().all())
    return {**page, "actor_names": actor_names, "merchant_names": merchant_names}
