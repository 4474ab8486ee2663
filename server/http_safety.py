"""What every request and response goes through, whatever the endpoint: bounded input, traceable logs.

- Request bodies: at most ``MAX_CONTENT_LENGTH`` (config, 8 MB: multipart uploads) or ``MAX_BODY_BYTES``
  (anything else), else 413 PAYLOAD_TOO_LARGE, with or without a Content-Length; JSON nested deeper
  than ``MAX_JSON_DEPTH`` is refused before the parser recurses (400 VALIDATION_ERROR on ``body``).
- URL segments: ``<int:…>`` holds a signed 64-bit id and no segment holds a NUL or a lone surrogate;
  anything else is 400 VALIDATION_ERROR naming the segment (the converters cannot name it, so they
  hand a marker to a URL-value preprocessor that can).
- A request id on every request (a sane incoming ``X-Request-Id`` is kept, else a fresh one): on every
  log line written while the request runs, in the ``X-Request-Id`` response header and in every error
  body. Tokens in URLs (QR images, transfers, WeChat's ``access_token``) are masked in every log line.
- Headers on every response: ``X-Content-Type-Options: nosniff``; in production also HSTS.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import BaseConverter, IntegerConverter, PathConverter, UnicodeConverter

from server.db import INT64_MAX, INT64_MIN, unstorable_text
from server.errors import PayloadTooLarge, ValidationError

#: Deepest JSON nesting a request may have; Kabao's deepest body (top_up.tiers[].amount_fen) has 4.
MAX_JSON_DEPTH = 32
#: Largest request body that is not a multipart upload (JSON, forms, WeChat's XML).
MAX_BODY_BYTES = 1024 * 1024

# --- JSON -------------------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does ``text`` nest arrays/objects deeper than ``limit``? Linear, no recursion; strings skipped."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


class JSONTooDeep(ValueError):
    """Raised by the JSON provider for over-deep documents (a ValueError, as Flask expects)."""


def parse_json_body(data: bytes | str) -> Any:
    """A request body as JSON, or a 400 VALIDATION_ERROR on ``body`` — never a RecursionError."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ValidationError({"body": "请求体不是有效的 UTF-8"}) from None
    if json_too_deep(text):
        raise ValidationError({"body": f"JSON 嵌套层级过深（最多 {MAX_JSON_DEPTH} 层）"})
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # malformed, or a number too long for int()
        raise ValidationError({"body": "请求体不是有效的 JSON"}) from None


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing over-deep documents before parsing them (``request.get_json()``)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8", errors="replace") if isinstance(s, bytes) else s
        if json_too_deep(text):
            raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH}")
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep("JSON nested too deep") from None


# --- URL segments -----------------------------------------------------------------------------------


class BadSegment:
    """What a converter returns for a segment no view may see; the preprocessor names the segment."""

    def __init__(self, message: str) -> None:
        self.message = message


class Int64Converter(IntegerConverter):
    """``<int:…>``: a signed 64-bit id (the BIGINT columns' range)."""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if not INT64_MIN <= number <= INT64_MAX:
            return BadSegment(f"不能大于 {INT64_MAX}")
        return number


class _TextSegment:
    def to_python(self, value: str) -> Any:
        if unstorable_text(value):
            return BadSegment("不能包含 NUL 或无效字符")
        return super().to_python(value)  # type: ignore[misc]


class SafeStringConverter(_TextSegment, UnicodeConverter):
    pass


class SafePathConverter(_TextSegment, PathConverter):
    pass


CONVERTERS: dict[str, type[BaseConverter]] = {
    "int": Int64Converter, "default": SafeStringConverter, "string": SafeStringConverter, "path": SafePathConverter,
}


def _refuse_bad_segments(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    bad = {name: value.message for name, value in (values or {}).items() if isinstance(value, BadSegment)}
    if bad:
        raise ValidationError(bad)


def _refuse_bad_query_and_form() -> None:
    """Query arguments and form fields that reach views unparsed (console filters) hold no NUL either."""
    bad = {name: "不能包含 NUL 或无效字符" for name, value in request.args.items(multi=True)
           if unstorable_text(name) or unstorable_text(value)}
    if request.mimetype == "application/x-www-form-urlencoded":
        bad.update({name: "不能包含 NUL 或无效字符" for name, value in request.form.items(multi=True)
                    if unstorable_text(name) or unstorable_text(value)})
    if bad:
        raise ValidationError(bad)


def _limit_body() -> None:
    """Multipart uploads may be as large as MAX_CONTENT_LENGTH; every other body is MAX_BODY_BYTES at most.

    A body without Content-Length (chunked, behind gunicorn) is read here: werkzeug stops such a
    stream at the limit without a word, which would hand the view a truncated body."""
    if request.mimetype != "multipart/form-data":
        limit = request.max_content_length
        request.max_content_length = min(limit, MAX_BODY_BYTES) if limit else MAX_BODY_BYTES
    if request.content_length is None and "wsgi.input_terminated" in request.environ:
        limit = request.max_content_length
        if limit is not None and len(request.get_data(cache=True, parse_form_data=False)) >= limit:
            raise PayloadTooLarge()


# --- request ids and logs ---------------------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-Id"
_ENVIRON_KEY = "kabao.request_id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_thread = threading.local()
#: Loggers that write a request's line after the request has finished (access logs), on its thread.
_ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def current_request_id() -> str | None:
    if has_request_context():
        return request.environ.get(_ENVIRON_KEY)
    return None


#: Tokens that travel in URLs, and how each is shown in a log line.
_SECRETS_IN_URLS = [
    (re.compile(r"(/api/v1/mp/qr/)[^/?#\s\"']+(\.png)"), r"\1***\2"),
    (re.compile(r"(/api/v1/mp/transfers/)[^/?#\s\"']+(/accept)"), r"\1***\2"),
    (re.compile(r"([?&](?:access_token|token|secret|js_code|code|sign|key)=)[^&#\s\"']+"), r"\1***"),
]


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS_IN_URLS:
        text = pattern.sub(replacement, text)
    return text


def _install_log_record_factory() -> None:
    """Every log record gets ``request_id``; its message, once formatted, has URL tokens masked."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "kabao", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        request_id = current_request_id()
        if request_id is None and record.name in _ACCESS_LOGGERS:
            request_id = getattr(_thread, "request_id", None)
        record.request_id = request_id or "-"
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it for the handler to report
            return record
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    factory.kabao = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging() -> None:
    _install_log_record_factory()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


class RequestIdMiddleware:
    """Outermost WSGI layer: gives each request its id and each response its safety headers."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], *, production: bool) -> None:
        self.wsgi_app = wsgi_app
        self.headers = [("X-Content-Type-Options", "nosniff")]
        if production:
            self.headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ[_ENVIRON_KEY] = _thread.request_id = request_id

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend((name, value) for name, value in [(REQUEST_ID_HEADER, request_id), *self.headers]
                           if name.lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    """Install all of the above on ``app`` (before its blueprints, so every route gets the converters)."""
    configure_logging()
    app.json_provider_class = SafeJSONProvider
    app.json = SafeJSONProvider(app)
    app.url_map.converters.update(CONVERTERS)
    app.url_value_preprocessor(_refuse_bad_segments)
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_bad_query_and_form)
    app.before_request_funcs[None].insert(0, _limit_body)
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app, production=app.config["APP_ENV"] == "production")  # type: ignore[method-assign]
