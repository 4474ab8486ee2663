"""Idempotency keys for money-moving endpoints, exactly as docs/api.md specifies.

The first request with a key inserts a record before doing anything else; a concurrent duplicate
blocks on the unique constraint until the first commits, then replays its stored response. So
two requests with one key can never both take effect — the database decides, not a race.
Only successful responses are stored: an error rolled everything back, so a retry is safe.
A response that carries a secret shown once (the open API's bind code) is stored Fernet-encrypted
(``@idempotent(encrypt_response=True)``), so the table never holds the secret in plaintext.

The console's HTML forms carry their key in a hidden input rendered with the page
(``@idempotent(form_field=...)``, see server/console/forms.py): a double-submitted form gets the
first answer again — for a 303 the same Location — and the messages it flashed, not a second effect.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, flash, request
from flask import session as browser_session
from sqlalchemy import String, Text, UniqueConstraint, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from server import crypto
from server.auth import current_principal
from server.db import BigId, IntPK, JsonDoc, db, utcnow
from server.direct_writes import queue_write, send_queued
from server.errors import IdempotencyConflict, ValidationError
from server.models_support import CreatedAt
from server.openapi import IDEMPOTENCY_HEADER, mark_idempotent

HEADER = IDEMPOTENCY_HEADER
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")


class IdempotencyRecord(CreatedAt, db.Model):
    """A money-moving request already answered, keyed per principal."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal_kind", "principal_id", "key"),)

    id: Mapped[IntPK]
    #: The staff member's merchant (NULL for consumers, whose keys span merchants); no query looks
    #: records up by it, so it has no index to keep on the busiest inserts.
    merchant_id: Mapped[int | None] = mapped_column(BigId)
    #: consumer, staff or admin.
    principal_kind: Mapped[str] = mapped_column(String(20))
    #: Id of the principal who sent the key.
    principal_id: Mapped[int] = mapped_column(BigId)
    #: The client's Idempotency-Key.
    key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of method, path and canonical body: a different request under one key is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    #: HTTP status of the original response.
    status_code: Mapped[int | None]
    #: Body of the original response; Fernet-encrypted for endpoints whose answer holds a secret.
    response_body: Mapped[str | None] = mapped_column(Text)
    #: Content type of the original response.
    content_type: Mapped[str | None] = mapped_column(String(100))
    #: Location of the original response, when it was a redirect (a console form's 303).
    location: Mapped[str | None] = mapped_column(Text)
    #: ``[category, message]`` pairs the original request flashed into the browser session.
    flashes: Mapped[list[list[str]] | None] = mapped_column(JsonDoc)


_TABLE = IdempotencyRecord.__table__
_INSERT = insert(_TABLE)
#: The response is stored by the record's key (its unique constraint), so the insert needs no RETURNING.
_STORE_RESPONSE = update(_TABLE).where(_TABLE.c.principal_kind == bindparam("record_kind"),
                                       _TABLE.c.principal_id == bindparam("record_principal"),
                                       _TABLE.c.key == bindparam("record_key"))


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of the request; JSON bodies are canonicalised so key order and spacing don't matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


#: Bodies that arrive as form fields; the CSRF check has parsed (consumed) them before any view runs.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _body() -> bytes:
    """The request's body as its fingerprint sees it: a form by its fields, anything else as sent."""
    if request.mimetype in _FORM_TYPES:
        return json.dumps(sorted(request.form.items(multi=True)), ensure_ascii=False).encode()
    return request.get_data()


def _replay(record: IdempotencyRecord, fingerprint: str, encrypted: bool, conflict: str | None) -> Response:
    if record.request_hash != fingerprint:
        raise IdempotencyConflict(conflict)
    body = crypto.decrypt(current_app.config, record.response_body) if encrypted else record.response_body
    response = Response(body, status=record.status_code, content_type=record.content_type)
    if record.location:
        response.headers["Location"] = record.location
    for category, message in record.flashes or ():
        flash(message, category)  # the page the replayed redirect leads to says what the first request did
    response.headers["Idempotent-Replayed"] = "true"
    if encrypted:  # it carries a secret: no cache may keep it
        response.headers["Cache-Control"] = "no-store"
    return response


def _find(session: Session, kind: str, principal_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal_kind == kind,
            IdempotencyRecord.principal_id == principal_id,
            IdempotencyRecord.key == key,
        )
    )


F = TypeVar("F", bound=Callable[..., Any])


def idempotent(view: F | None = None, *, encrypt_response: bool = False, form_field: str | None = None) -> Any:
    """Require an Idempotency-Key and answer repeats with the original response.

    Goes after ``require(...)`` (it needs the principal) and before the request boundary's commit,
    which stores the record together with the request's effects. ``@idempotent(encrypt_response=True)``
    stores the response body encrypted (the fingerprint covers the path, so a key's record is only
    ever replayed by the endpoint that wrote it). ``@idempotent(form_field="name")``: an HTML form
    post, whose key is that hidden input when no header carries one; its refusals speak to a person.
    """
    if view is None:
        return lambda inner: _idempotent(inner, encrypt_response, form_field)
    return _idempotent(view, encrypt_response, form_field)


def _key(form_field: str | None) -> str:
    key = request.headers.get(HEADER, "")
    if not key and form_field is not None:
        key = request.form.get(form_field, "")
    if _VALID_KEY.match(key):
        return key
    if form_field is not None:
        raise ValidationError(message="页面已过期，请刷新页面后重新提交")
    raise ValidationError({HEADER: "需要 1–64 个可打印字符的幂等键"})


def _flashed() -> list[list[str]]:
    """What this request has flashed so far; only a browser's session is looked at (API callers have
    none, and reading it would add ``Vary: Cookie`` to their answers)."""
    return [list(pair) for pair in browser_session.get("_flashes", ())] if browser_session.accessed else []


def _idempotent(view: F, encrypt_response: bool, form_field: str | None) -> F:
    conflict, pending = None, "同一幂等键的请求正在处理，请稍后重试"
    if form_field is not None:  # a person reads these, on the page the form came from
        conflict = "这张表单已经提交过，内容与第一次不同；请刷新页面后重新填写"
        pending = "这张表单的上一次提交仍在处理，请稍后刷新页面查看结果"

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key(form_field)
        principal = current_principal()
        session = db.session
        fingerprint = request_fingerprint(request.method, request.path, _body())

        try:
            # Insert first: a repeat fails here at once, a concurrent twin waits for the first to commit.
            # Plain statements, not the unit of work: this wraps the busiest endpoints. Sent at once,
            # in the same round trip as the transaction's BEGIN.
            queue_write(session, _INSERT, [{
                "merchant_id": principal.merchant_id, "principal_kind": principal.kind,
                "principal_id": principal.id, "key": key, "request_hash": fingerprint}])
            send_queued(session)
        except IntegrityError:
            session.rollback()
            winner = _find(session, principal.kind, principal.id, key)
            if winner is None or winner.status_code is None:  # the first request failed meanwhile
                raise IdempotencyConflict(pending) from None
            return _replay(winner, fingerprint, encrypt_response, conflict)

        flashed_before = len(_flashed())
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code < 400:  # sent with the request's COMMIT by the request boundary
            body = response.get_data(as_text=True)
            queue_write(session, _STORE_RESPONSE, [{
                "record_kind": principal.kind, "record_principal": principal.id, "record_key": key,
                "status_code": response.status_code,
                "response_body": crypto.encrypt(current_app.config, body) if encrypt_response else body,
                "content_type": response.content_type, "location": response.headers.get("Location"),
                "flashes": _flashed()[flashed_before:] or None}])
        return response

    return mark_idempotent(wrapper)  # the OpenAPI document's required Idempotency-Key header


def purge_expired(session: Session, retention_hours: int, now: datetime | None = None) -> int:
    """Delete records older than the retention period (kept ≥ 24 h per docs/api.md)."""
    cutoff = (now or utcnow()) - timedelta(hours=max(retention_hours, 24))
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return result.rowcount or 0
