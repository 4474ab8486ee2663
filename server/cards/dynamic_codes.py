"""Dynamic member codes: the QR token and 18-digit number a consumer shows at the counter.

A code is a random 128-bit token (and an 18-digit number for manual entry) held in Redis for 60
seconds and mapped to its card. It authorises at most one successful redemption: the redemption
stores the code's digest under a unique constraint, so two concurrent scans cannot both succeed,
while a failed attempt (rolled back) leaves the code usable. Issuing a new code retires the old one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from redis import Redis

CODE_TTL_SECONDS = 60
QR_PREFIX = "KB1:"
NUMERIC_LENGTH = 18
_TOKEN_KEY = "dyncode:t:"
_NUMBER_KEY = "dyncode:n:"
_CARD_KEY = "dyncode:card:"


@dataclass(frozen=True)
class DynamicCode:
    qr_payload: str
    numeric_code: str
    expires_in: int


@dataclass(frozen=True)
class ResolvedCode:
    card_id: int
    #: What the redemption records to make the code single-use.
    digest: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_code(redis: Redis, card_id: int, ttl: int = CODE_TTL_SECONDS) -> DynamicCode:
    """A fresh token and number for the card; the card's previous code stops working."""
    token = secrets.token_urlsafe(16)
    entry = json.dumps({"card_id": card_id, "digest": _digest(token)})
    while True:
        number = "".join(secrets.choice("0123456789") for _ in range(NUMERIC_LENGTH - 1))
        number = "9" + number  # a leading 9 keeps the length when typed into numeric fields
        if redis.set(_NUMBER_KEY + number, entry, ex=ttl, nx=True):
            break
    previous = redis.set(_CARD_KEY + str(card_id), json.dumps({"token": token, "number": number}), ex=ttl, get=True)
    redis.set(_TOKEN_KEY + _digest(token), entry, ex=ttl)
    _forget(redis, previous)
    return DynamicCode(QR_PREFIX + token, number, ttl)


def retire_codes(redis: Redis, card_id: int) -> None:
    """Make the card's live code (if any) stop working, e.g. when the card changes hands."""
    _forget(redis, redis.getdel(_CARD_KEY + str(card_id)))


def _forget(redis: Redis, current: bytes | None) -> None:
    if current:
        code = json.loads(current)
        redis.delete(_TOKEN_KEY + _digest(code["token"]), _NUMBER_KEY + code["number"])


def resolve_code(redis: Redis, code: str) -> ResolvedCode | None:
    """The card a scanned QR payload or typed number stands for, if still live."""
    code = code.strip()
    if code.startswith(QR_PREFIX):
        raw = redis.get(_TOKEN_KEY + _digest(code[len(QR_PREFIX):]))
    elif len(code) == NUMERIC_LENGTH and code.isdigit():
        raw = redis.get(_NUMBER_KEY + code)
    else:
        return None
    if raw is None:
        return None
    entry = json.loads(raw)
    return ResolvedCode(card_id=int(entry["card_id"]), digest=entry["digest"])
