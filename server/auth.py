"""Bearer tokens for the three principal kinds, and the policy decorator that guards views.

Tokens are opaque random strings. Redis keeps only their SHA-256 (so a Redis dump yields no
usable token) mapped to the principal, with a TTL. A token of the wrong kind gets 403.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from redis import Redis

from server.errors import Forbidden, Unauthenticated
from server.openapi import mark_auth

_TOKEN_PREFIX = "auth:token:"
_hasher = PasswordHasher()
#: Verified against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("kabao-timing-equaliser")


class PrincipalKind(StrEnum):
    CONSUMER = "consumer"
    STAFF = "staff"
    ADMIN = "admin"
    #: A merchant's API key on /open/v1/ (server/open/auth.py); never a Redis token.
    API_KEY = "api_key"


@dataclass(frozen=True)
class Principal:
    """Who is calling: their kind and id, and for staff their merchant, role and store."""

    kind: PrincipalKind
    id: int
    merchant_id: int | None = None
    role: str | None = None
    store_id: int | None = None


def _token_key(token: str) -> str:
    return _TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def issue_token(redis: Redis, principal: Principal, ttl_seconds: int) -> str:
    token = secrets.token_urlsafe(32)
    redis.set(_token_key(token), json.dumps(asdict(principal)), ex=ttl_seconds)
    return token


def resolve_token(redis: Redis, token: str) -> Principal | None:
    raw = redis.get(_token_key(token))
    if raw is None:
        return None
    data = json.loads(raw)
    return Principal(**{**data, "kind": PrincipalKind(data["kind"])})


def revoke_token(redis: Redis, token: str) -> None:
    redis.delete(_token_key(token))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; a missing user still costs one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


F = TypeVar("F", bound=Callable[..., Any])


def require(kind: PrincipalKind, *, roles: Iterable[str] | None = None) -> Callable[[F], F]:
    """Let only principals of ``kind`` (and, for staff, of one of ``roles``) call the view."""
    allowed_roles = frozenset(roles) if roles is not None else None

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from server.extensions import get_redis

            token = bearer_token()
            principal = resolve_token(get_redis(), token) if token else None
            if principal is None:
                raise Unauthenticated()
            if principal.kind != kind:
                raise Forbidden("令牌类型不允许访问此接口")
            if allowed_roles is not None and principal.role not in allowed_roles:
                raise Forbidden("当前角色无权执行此操作")
            g.principal = principal
            return view(*args, **kwargs)

        return mark_auth(guarded, kind.value)  # the OpenAPI document's security (server/openapi.py)

    return decorator


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthenticated()
    return principal


def token_ttl() -> int:
    return int(current_app.config["TOKEN_TTL_SECONDS"])
