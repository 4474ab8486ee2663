"""Simulator state in Redis (keys ``wxsim:*``), so every gunicorn worker sees the same WeChat."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import WatchError

PREFIX = "wxsim:"
RECORD_TTL = 7 * 24 * 3600
CODE_TTL = 24 * 3600
MAX_LIST = 1000

# An updater gets the current records (None when absent) and returns (records to write, result).
Updater = Callable[[dict[str, dict[str, Any] | None]], tuple[dict[str, dict[str, Any]], Any]]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class SimStore:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def issue_token(self, appid: str, ttl: int) -> str:
        token = secrets.token_urlsafe(48)
        self.redis.set(f"{PREFIX}token:{token}", appid, ex=ttl)
        return token

    def token_appid(self, token: str) -> str | None:
        value = self.redis.get(f"{PREFIX}token:{token}")
        return _text(value) if value is not None else None

    def consume_code(self, code: str) -> bool:
        """True the first time a login code is seen (hashed: codes are credentials)."""
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        return bool(self.redis.set(f"{PREFIX}code:{digest}", "1", nx=True, ex=CODE_TTL))

    def reserve_id(self, kind: str, new_id: Callable[[], str], owner: str) -> str:
        """An id never handed out before (transaction/refund ids are unique), remembering its owner."""
        while True:
            candidate = new_id()
            if self.redis.set(f"{PREFIX}{kind}:{candidate}", owner, nx=True, ex=RECORD_TTL):
                return candidate

    def id_owner(self, kind: str, value: str) -> str | None:
        owner = self.redis.get(f"{PREFIX}{kind}:{value}")
        return _text(owner) if owner is not None else None

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        raw = self.redis.get(f"{PREFIX}{kind}:{key}")
        return json.loads(_text(raw)) if raw is not None else None

    def put(self, kind: str, key: str, record: dict[str, Any]) -> None:
        self.redis.set(f"{PREFIX}{kind}:{key}", json.dumps(record, ensure_ascii=False), ex=RECORD_TTL)

    def update(self, keys: dict[str, tuple[str, str]], updater: Updater) -> Any:
        """Read-modify-write records atomically (WATCH/MULTI), retrying when another worker interferes.

        ``keys`` maps a local name to ``(kind, key)``; the updater may run more than once.
        """
        redis_keys = {name: f"{PREFIX}{kind}:{key}" for name, (kind, key) in keys.items()}
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(*redis_keys.values())
                    current = {}
                    for name, redis_key in redis_keys.items():
                        raw = pipe.get(redis_key)
                        current[name] = json.loads(_text(raw)) if raw is not None else None
                    writes, result = updater(current)
                    pipe.multi()
                    for name, record in writes.items():
                        pipe.set(redis_keys[name], json.dumps(record, ensure_ascii=False), ex=RECORD_TTL)
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def append(self, kind: str, key: str, entry: dict[str, Any]) -> None:
        redis_key = f"{PREFIX}{kind}:{key}"
        with self.redis.pipeline() as pipe:
            pipe.rpush(redis_key, json.dumps({**entry, "ts": time.time()}, ensure_ascii=False))
            pipe.ltrim(redis_key, -MAX_LIST, -1)
            pipe.expire(redis_key, RECORD_TTL)
            pipe.execute()

    def entries(self, kind: str, key: str) -> list[dict[str, Any]]:
        return [json.loads(_text(raw)) for raw in self.redis.lrange(f"{PREFIX}{kind}:{key}", 0, -1)]

    def clear(self, kind: str, key: str) -> None:
        self.redis.delete(f"{PREFIX}{kind}:{key}")
