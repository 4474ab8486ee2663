"""Request parsing: marshmallow schemas through flask-smorest, with errors in our envelope.

Every bad body (malformed JSON, wrong types, unknown or missing fields) becomes a 400
VALIDATION_ERROR whose ``details.fields`` maps a field path (``top_up.tiers[1].amount_fen``)
to a Chinese message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser

from server import openapi
from server.errors import ValidationError

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


class Blueprint(flask_smorest.Blueprint):
    """Blueprint whose ``arguments`` decorator parses with our Parser, and whose operations are completed
    in the OpenAPI document from the views' marks (security, Idempotency-Key, error envelope; see
    server/openapi.py)."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_kabao_doc)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options) -> None:
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc["kabao"] = openapi.operation_facts(obj)

    @staticmethod
    def _prepare_kabao_doc(doc, doc_info, *, spec, method, **kwargs):
        return openapi.complete_operation(doc, doc_info.get("kabao"), method, spec)


class Schema(ma.Schema):
    """Base request schema: unknown fields are errors, so typos never pass silently."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


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
