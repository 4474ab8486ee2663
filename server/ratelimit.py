"""Rate limits on guessable inputs (passwords, redemption codes) and costly calls, kept in Redis.

Two shapes: ``throttle`` counts every call in a fixed window (reveal, code issuance);
``FailureLimit`` counts only failures (login, code binding) so honest users are never locked out
by their own successes, and answers 429 with Retry-After once the budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from server.errors import RateLimited, Unauthenticated

_PREFIX = "ratelimit:"


def throttle(redis: Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """Count this call; raise RateLimited once more than ``limit`` calls fall in the window."""
    full_key = _PREFIX + key
    with redis.pipeline() as pipe:
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        count, _ = pipe.execute()
    if count > limit:
        raise RateLimited(retry_after=max(int(redis.ttl(full_key)), 1))


@dataclass(frozen=True)
class FailureLimit:
    """At most ``limit`` failures per ``window_seconds`` for each key (e.g. consumer, IP)."""

    name: str
    limit: int
    window_seconds: int

    def _key(self, subject: str) -> str:
        return f"{_PREFIX}{self.name}:{subject}"

    def check(self, redis: Redis, *subjects: str) -> None:
        """Refuse before trying when any subject has spent its failure budget."""
        keys = [self._key(s) for s in subjects]
        for key, count in zip(keys, redis.mget(keys), strict=True):
            if count is not None and int(count) >= self.limit:
                raise RateLimited(retry_after=max(int(redis.ttl(key)), 1))

    def record_failure(self, redis: Redis, *subjects: str) -> None:
        with redis.pipeline() as pipe:
            for subject in subjects:
                pipe.incr(self._key(subject))
                pipe.expire(self._key(subject), self.window_seconds, nx=True)
            pipe.execute()

    def reset(self, redis: Redis, *subjects: str) -> None:
        redis.delete(*(self._key(s) for s in subjects))


#: Wrong passwords from one address, whoever they were for: 20 per 15 minutes.
LOGIN_FAILURES_PER_IP = FailureLimit("login-ip", limit=20, window_seconds=900)


def guard_login(redis: Redis, per_user: FailureLimit, username: str, ip: str, succeeded: bool) -> None:
    """One password check's rate limiting: 429 once a budget is spent, count failures, forget on success.

    Call it after verifying the password; a spent budget refuses even the right password.
    """
    per_user.check(redis, username)
    LOGIN_FAILURES_PER_IP.check(redis, ip)
    if not succeeded:
        per_user.record_failure(redis, username)
        LOGIN_FAILURES_PER_IP.record_failure(redis, ip)
        raise Unauthenticated("用户名或密码错误")
    per_user.reset(redis, username)
