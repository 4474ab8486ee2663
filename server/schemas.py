"""Request parsing: marshmallow schemas through flask-smorest, with errors in our envelope.

Every bad body (malformed JSON, wrong types, unknown or missing fields) becomes a 400
VALIDATION_ERROR whose ``details.fields`` maps a field path (``top_up.tiers[1].amount_fen``)
to a Chinese message.

Every field of every schema is also bounded to what the database can hold (``bounded``): integers
named ``*_id`` to signed 64 bits (BIGINT ids), every other integer (amounts, counts) to the INTEGER
column range; text without NUL characters or lone surrogates; dates and times within years
1900–2999, which every date computation can shift. So no request reaches the database with a
value it would refuse with an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser, is_json_request

from server import openapi
from server.db import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN
from server.errors import ValidationError
from server.http_safety import parse_json_body, unstorable_text

#: marshmallow's English messages → Chinese; anything unlisted passes through unchanged.
_MESSAGES = {
    "Missing data for required field.": "必填",
    "Unknown field.": "未知字段",
    "Field may not be null.": "不能为空",
    "Not a valid integer.": "必须是整数",
    "Not a valid string.": "必须是字符串",
    "Not a valid boolean.": "必须是布尔值",
    "Not a valid number.": "必须是数字",
    "Not a valid list.": "必须是数组",
    "Not a valid mapping type.": "必须是对象",
    "Invalid input type.": "必须是 JSON 对象",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid datetime.": "时间格式应为 ISO 8601",
    "Shorter than minimum length 1.": "不能为空",
}
_PATTERNS = [
    (re.compile(r"Must be greater than or equal to (\S+)\.$"), "不能小于 {0}"),
    (re.compile(r"Must be less than or equal to (\S+)\.$"), "不能大于 {0}"),
    (re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     "应在 {0} 到 {1} 之间"),
    (re.compile(r"Length must be between (\d+) and (\d+)\.$"), "长度应在 {0} 到 {1} 之间"),
    (re.compile(r"Longer than maximum length (\d+)\.$"), "长度不能超过 {0}"),
    (re.compile(r"Must be one of: (.+)\.$"), "取值应为: {0}"),
]


def translate(message: str) -> str:
    if message in _MESSAGES:
        return _MESSAGES[message]
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    return message


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, str]:
    """Turn marshmallow's nested error dict into ``{"a.b[0].c": "消息"}``."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": translate(messages[0])}
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            if key == "_schema":
                path = prefix or "body"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
        return flat
    return {prefix or "body": translate(str(messages))}


class Parser(FlaskParser):
    """webargs parser raising our ValidationError instead of aborting with 422."""

    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(self, error, req, schema, *, error_status_code, error_headers) -> NoReturn:
        messages = error.messages
        # webargs nests messages under the location ("json", "query", …); the location is noise.
        if isinstance(messages, Mapping) and len(messages) == 1:
            location = next(iter(messages))
            if location in {"json", "query", "form", "files", "headers", "view_args", "json_or_form"}:
                messages = messages[location]
        raise ValidationError(flatten_errors(messages))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs) -> NoReturn:
        raise ValidationError({"body": "请求体不是有效的 JSON"})

    def _raw_load_json(self, req) -> Any:
        """The body as JSON, refusing over-deep documents before parsing (server/http_safety.py)."""
        if not is_json_request(req):
            return ma.missing
        data = req.get_data(cache=True)
        return parse_json_body(data) if data else ma.missing


class Blueprint(flask_smorest.Blueprint):
    """Blueprint whose ``arguments`` decorator parses with our Parser, and whose operations are completed
    in the OpenAPI document from the views' marks (security, Idempotency-Key, error envelope; see
    server/openapi.py)."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_kabao_doc)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """As flask-smorest's, with a schema class built once here: webargs would build one per request."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options) -> None:
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc["kabao"] = openapi.operation_facts(obj)

    @staticmethod
    def _prepare_kabao_doc(doc, doc_info, *, spec, method, **kwargs):
        return openapi.complete_operation(doc, doc_info.get("kabao"), method, spec)


MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2999, 12, 31)


def _no_unstorable_text(value: Any) -> None:
    if isinstance(value, str) and unstorable_text(value):
        raise ma.ValidationError("不能包含 NUL 或无效字符")


def _within_dates(value: Any) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if isinstance(day, date) and not MIN_DATE <= day <= MAX_DATE:
        raise ma.ValidationError(f"日期应在 {MIN_DATE} 到 {MAX_DATE} 之间")


#: The storage's bounds, one validator object each, so a field can be seen to carry one already.
_INT64 = ma.validate.Range(min=INT64_MIN, max=INT64_MAX)
_INT32 = ma.validate.Range(min=INT32_MIN, max=INT32_MAX)


def _int_range(name: str) -> ma.validate.Range:
    return _INT64 if name == "id" or name.endswith("_id") or name.endswith("_ids") else _INT32


def _add_validator(field: ma.fields.Field, validator: Any) -> None:
    """Add ``validator`` once. A schema instance's fields are shallow copies of the class's (marshmallow
    copies fields, not their lists, and nests share their inner fields): appending to the list would
    grow the class's list by one on every instance — every request — so a new list is assigned."""
    if validator not in field.validators:
        field.validators = [*field.validators, validator]


def bounded(name: str, field: ma.fields.Field) -> None:
    """Add to ``field`` (and the fields inside a list, tuple or dict) the bounds of the storage."""
    if isinstance(field, ma.fields.Integer):
        _add_validator(field, _int_range(name))
    elif isinstance(field, ma.fields.String):
        _add_validator(field, _no_unstorable_text)
    elif isinstance(field, ma.fields.Date | ma.fields.DateTime):
        _add_validator(field, _within_dates)
    elif isinstance(field, ma.fields.List):
        bounded(name, field.inner)
    elif isinstance(field, ma.fields.Tuple):
        for inner in field.tuple_fields:
            bounded(name, inner)
    elif isinstance(field, ma.fields.Dict):
        for inner in (field.key_field, field.value_field):
            if inner is not None:
                bounded(name, inner)


class Schema(ma.Schema):
    """Base request schema: unknown fields are errors, so typos never pass silently; every field is
    ``bounded`` to what the database can store."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        bounded(field_obj.data_key or field_name, field_obj)


def http_url(value: str | None) -> None:
    """A URL that is stored and shown later (logos, webhooks): http or https only, never ``javascript:``."""
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ma.ValidationError("应为 http:// 或 https:// 开头的网址")


class StrictInt(ma.fields.Integer):
    """An integer that must be a JSON integer: no strings, floats or booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class Fen(StrictInt):
    """An amount of money in integer fen, never negative."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Range(min=0))
        super().__init__(**kwargs)
