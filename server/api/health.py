"""GET /healthz: is the database reachable, is Redis reachable."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.db import db
from server.extensions import get_redis

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    checks = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("healthz: database down: %s", exc.__class__.__name__)
        checks["database"] = "down"
        db.session.rollback()
    try:
        get_redis().ping()
    except RedisError as exc:
        log.error("healthz: redis down: %s", exc.__class__.__name__)
        checks["redis"] = "down"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503


@blueprint.get("/api/v1/ping")
def ping():
    """A trivial JSON endpoint: the baseline the benchmarks compare real endpoints against."""
    return jsonify(status="ok")
