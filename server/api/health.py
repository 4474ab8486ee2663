"""GET /healthz: is the database reachable, is Redis reachable."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.db import db
from server.extensions import get_redis
from server.openapi import DocSchema, error_statuses
from server.schemas import Blueprint

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__, description="健康检查")


class HealthSchema(DocSchema):
    status = ma.fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    database = ma.fields.String(required=True, metadata={"enum": ["ok", "down"]})
    redis = ma.fields.String(required=True, metadata={"enum": ["ok", "down"]})


class PingSchema(DocSchema):
    status = ma.fields.String(required=True, metadata={"enum": ["ok"]})


@blueprint.route("/healthz", methods=["GET"])
@blueprint.alt_response(200, schema=HealthSchema, success=True, description="数据库与缓存均可用")
@blueprint.alt_response(503, schema=HealthSchema, description="数据库或缓存不可用（指明哪一个）")
@error_statuses()
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


@blueprint.route("/api/v1/ping", methods=["GET"])
@blueprint.alt_response(200, schema=PingSchema, success=True)
@error_statuses()
def ping():
    """A trivial JSON endpoint: the baseline the benchmarks compare real endpoints against."""
    return jsonify(status="ok")
