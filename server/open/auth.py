"""The guard of every /open/v1/ view: an API key, within its rate limit, with the scope; the key's mode
(live or test, by its ``kb_live_`` / ``kb_test_`` prefix) is the mode of the books the call reads and writes.

API keys and bearer tokens are different credentials, not different kinds of one: a staff or consumer
token is no API key (401 here), and an API key is no token (401 on /api/v1/, which only looks in
Redis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g

from server.auth import Principal, PrincipalKind, bearer_token
from server.db import db
from server.errors import Forbidden, Unauthenticated
from server.extensions import get_redis
from server.merchants.models import StaffRole
from server.modes import use_mode
from server.open import keys
from server.open.models import Scope
from server.openapi import mark_auth
from server.ratelimit import throttle

#: Calls one key may make per minute (setting OPEN_API_RATE_LIMIT_PER_MINUTE).
DEFAULT_RATE_LIMIT_PER_MINUTE = 600


@dataclass(frozen=True)
class KeyActor:
    """Who calls through a key: the key, its merchant, and the owner it acts for."""

    api_key_id: int
    merchant_id: int
    #: The owner who created the key: cashier-style rules (redeem, reverse) run as this staff member.
    staff_id: int

    @property
    def staff(self) -> Principal:
        """The key as the merchant's services see a staff caller: the owner, at HQ (every store)."""
        return Principal(PrincipalKind.STAFF, self.staff_id, merchant_id=self.merchant_id, role=StaffRole.OWNER.value)

    @property
    def principal(self) -> Principal:
        """The key as idempotency sees it: its own principal, so keys of one merchant never share keys."""
        return Principal(PrincipalKind.API_KEY, self.api_key_id, merchant_id=self.merchant_id)


F = TypeVar("F", bound=Callable[..., Any])


def require_scope(scope: Scope) -> Callable[[F], F]:
    """Let only an unrevoked API key holding ``scope`` call the view (401, 429, 403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            credential = bearer_token()
            row = keys.authenticate(db.session, current_app.config, credential) if credential else None
            if row is None:
                raise Unauthenticated("API 密钥无效或已吊销")
            limit = int(current_app.config.get("OPEN_API_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE))
            throttle(get_redis(), f"api-key:{row.id}", limit=limit, window_seconds=60)
            keys.touch(db.session, row)
            if scope.value not in row.scopes:
                raise Forbidden(f"该 API 密钥没有 {scope.value} 权限", details={"required_scope": scope.value})
            use_mode(db.session, row.mode)
            actor = KeyActor(row.id, row.merchant_id, row.created_by)
            g.api_key = actor
            g.principal = actor.principal
            return view(*args, **kwargs)

        guarded.required_scope = scope  # type: ignore[attr-defined]
        return mark_auth(guarded, "api_key")  # the OpenAPI document's ApiKey scheme

    return decorator


def current_key() -> KeyActor:
    actor = g.get("api_key")
    if actor is None:
        raise Unauthenticated()
    return actor
