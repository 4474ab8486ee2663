"""Extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

import logging

import redis
from flask import Flask, current_app
from flask_migrate import Migrate

from server.db import db

log = logging.getLogger(__name__)

migrate = Migrate()


class RedisConnection:
    """The app's Redis client: a real server when REDIS_URL is set, else an in-process stand-in."""

    def init_app(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        client = app.config.get("REDIS_CLIENT")  # tests may hand in a ready client
        if client is None and url:
            # Short timeouts: a dead Redis must fail a request quickly, not hang it.
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        elif client is None:
            import fakeredis

            log.warning("REDIS_URL is not set: using an in-process Redis stand-in that serves one process only")
            client = fakeredis.FakeRedis()
        app.extensions["kabao_redis"] = client


def get_redis() -> redis.Redis:
    return current_app.extensions["kabao_redis"]


redis_connection = RedisConnection()

__all__ = ["db", "get_redis", "migrate", "redis_connection"]
