"""The request boundary: one commit per successful request, errors as the JSON envelope of docs/api.md."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from server.db import db
from server.errors import (
    AppError,
    Conflict,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
)
from server.http_safety import current_request_id

log = logging.getLogger(__name__)


def client_ip() -> str:
    """The caller's address as the proxy in front of us reports it (ProxyFix handles trust)."""
    return request.remote_addr or "127.0.0.1"


def error_response(error: AppError) -> Response:
    body = error.to_dict()
    body["request_id"] = current_request_id()  # beside the envelope: what the caller quotes to support
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _from_http_exception(exc: HTTPException) -> AppError:
    """Map werkzeug's HTTP errors (routing, body parsing) onto our error classes."""
    if exc.code == 404:
        return NotFound("接口不存在")
    if exc.code == 405:
        return MethodNotAllowed()
    if exc.code == 413:
        return PayloadTooLarge()
    if exc.code in (400, 415):
        return ValidationError({"body": "请求体无效"})
    error = AppError(exc.description, code=(exc.name or "ERROR").upper().replace(" ", "_"))
    error.status = exc.code or 500
    return error


#: app.extensions key: a function (the console installs one) that answers an error as an HTML page
#: for a browser on its pages, or None for the JSON envelope.
ERROR_PAGE = "kabao_error_page"


def _respond(error: AppError) -> Response:
    """The envelope, or the console's error page for a browser on its pages."""
    page_for = current_app.extensions.get(ERROR_PAGE)
    page = page_for(error) if page_for is not None else None
    return page if page is not None else error_response(error)


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # a dead connection cannot roll back; the pool discards it
        log.warning("rollback failed after an error")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> Response:
        _rollback()
        return _respond(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> Response:
        _rollback()
        return _respond(_from_http_exception(exc))

    @app.errorhandler(OperationalError)
    def handle_database_down(exc: OperationalError) -> Response:
        _rollback()
        log.error("database error: %s", exc.__class__.__name__)
        return _respond(ServiceUnavailable("数据库暂不可用，请稍后再试"))

    @app.errorhandler(DataError)
    def handle_unstorable_value(exc: DataError) -> Response:
        """A value the database refuses (out of range, invalid text) that no schema bound caught: still
        the caller's input, so 400 — and an error line, since a bound is missing (the fuzz test fails on it)."""
        _rollback()
        log.error("value refused by the database on %s %s: %s", request.method, request.path,
                  exc.orig.__class__.__name__ if exc.orig is not None else "DataError")
        return _respond(ValidationError({"body": "数值或文本超出可存储的范围"}))

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def handle_redis_down(exc: Exception) -> Response:
        _rollback()
        log.error("redis error: %s", exc.__class__.__name__)
        return _respond(ServiceUnavailable("缓存服务暂不可用，请稍后再试"))

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        _rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        error = AppError("服务器内部错误", code="INTERNAL_ERROR")
        error.status = 500
        return _respond(error)


def register_transaction_boundary(app: Flask) -> None:
    """Commit once after a successful request; roll back after any error response."""

    @app.after_request
    def finish_transaction(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.warning("commit refused by a constraint on %s %s", request.method, request.path)
            return _respond(Conflict("数据已被并发修改，请重试"))
        except OperationalError:
            db.session.rollback()
            log.error("commit failed on %s %s", request.method, request.path)
            return _respond(ServiceUnavailable("数据库暂不可用，请稍后再试"))
        return response
