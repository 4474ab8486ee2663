"""Writing audit entries from domain services."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.direct_writes import insert_row

#: ``session.info`` key under which a request boundary leaves the caller's address: entries recorded
#: in that session without an explicit ``ip`` carry it (the console sets it for every request).
AUDIT_IP = "audit_ip"


def record(
    session: Session,
    *,
    action: str,
    actor_type: str,
    actor_id: int | None,
    merchant_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    defer: bool = False,
) -> AuditEntry:
    """Write an audit entry in the caller's transaction (it commits or rolls back with the action).

    ``defer``: sent with the transaction's COMMIT (server/direct_writes.py); the entry returned then
    has no id."""
    return insert_row(session, AuditEntry(
        action=action,
        actor_type=actor_type,
        actor_id=actor_id,
        merchant_id=merchant_id,
        target_type=target_type,
        target_id=target_id,
        detail=detail or {},
        ip=ip if ip is not None else session.info.get(AUDIT_IP),
    ), defer=defer)
