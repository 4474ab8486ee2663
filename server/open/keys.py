"""API keys: creation (shown once), listing, revocation, and finding the key a request presents.

A key is ``kb_live_`` or ``kb_test_`` followed by 43 URL-safe random characters (256 bits). With that
much entropy a fast keyed hash is the right storage, not a password hash: the row holds
HMAC-SHA256(key) under a key derived from CODE_HASH_KEY, looked up by that digest through a unique
index and compared again in constant time. A database dump yields nothing to call with.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.crypto import code_hash_key, keyed_hash
from server.db import utcnow
from server.errors import NotFound
from server.merchants.models import Staff
from server.open.models import ApiKey, Mode, Scope
from server.timeutil import iso

PREFIXES = {Mode.LIVE: "kb_live_", Mode.TEST: "kb_test_"}
#: Random bytes after the prefix: 32 bytes are 43 URL-safe characters.
RANDOM_BYTES = 32
#: Characters of the random part kept in ``key_prefix``.
SHOWN_CHARACTERS = 4
#: ``last_used_at`` is written at most this often, so a busy key costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash_key(config: Mapping[str, Any]) -> bytes:
    """The HMAC key for API keys: derived from the code hash key, so it is never the same key."""
    return keyed_hash(code_hash_key(config), "kabao:api-keys").encode()


def key_digest(config: Mapping[str, Any], key: str) -> str:
    return keyed_hash(_hash_key(config), key)


def looks_like_key(credential: str) -> bool:
    return credential.startswith(tuple(PREFIXES.values()))


@dataclass(frozen=True)
class CreatedKey:
    """A new key's row and the key itself, which exists nowhere else."""

    row: ApiKey
    key: str


def create_key(session: Session, config: Mapping[str, Any], actor: Principal, *, name: str,
               scopes: Sequence[str], mode: str) -> CreatedKey:
    """Create a key for the owner's merchant; the plaintext is returned here and never again."""
    mode = Mode(mode)
    key = PREFIXES[mode] + secrets.token_urlsafe(RANDOM_BYTES)
    row = ApiKey(merchant_id=actor.merchant_id, name=name, mode=mode,
                 scopes=[scope.value for scope in Scope if scope in set(scopes)],
                 key_prefix=key[: len(PREFIXES[mode]) + SHOWN_CHARACTERS], key_hash=key_digest(config, key),
                 created_by=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    record(session, action="api_key.create", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="api_key", target_id=row.id,
           detail={"name": name, "mode": mode.value, "scopes": row.scopes, "key_prefix": row.key_prefix})
    return CreatedKey(row, key)


def list_keys(merchant_id: int) -> Select:
    return select(ApiKey).where(ApiKey.merchant_id == merchant_id)


def revoke_key(session: Session, actor: Principal, api_key_id: int) -> ApiKey:
    """Revoke one of the merchant's live keys; another merchant's key, or one already revoked, is not found."""
    row = session.get(ApiKey, api_key_id)
    if row is None or row.merchant_id != actor.merchant_id or row.revoked_at is not None:
        raise NotFound("API 密钥不存在或已吊销")
    row.revoked_at, row.revoked_by = utcnow(), actor.id
    session.flush()
    record(session, action="api_key.revoke", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="api_key", target_id=row.id, detail={"key_prefix": row.key_prefix})
    return row


def authenticate(session: Session, config: Mapping[str, Any], credential: str) -> ApiKey | None:
    """The live (unrevoked) key ``credential`` is, or None: anything else — a staff or consumer token,
    a revoked or unknown key, the key of an owner since deactivated — is simply no API key."""
    if not looks_like_key(credential):
        return None
    digest = key_digest(config, credential)
    row = session.scalar(select(ApiKey).join(Staff, Staff.id == ApiKey.created_by)
                         .where(ApiKey.key_hash == digest, Staff.active.is_(True)))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def touch(session: Session, row: ApiKey, now: datetime | None = None) -> None:
    """Record the key's use, at most once a minute: the conditional UPDATE lets one of concurrent
    callers write it, and the others (already seeing a recent time) send nothing."""
    now = now or utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
        return
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == row.id,
               (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def key_to_dict(row: ApiKey) -> dict[str, Any]:
    """A key as lists show it: never the key itself."""
    return {
        "api_key_id": row.id,
        "name": row.name,
        "scopes": list(row.scopes),
        "mode": row.mode,
        "key_prefix": row.key_prefix,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "status": "revoked" if row.revoked_at is not None else "active",
    }
