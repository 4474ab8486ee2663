"""How the published OpenAPI document describes errors: API.md's envelope, not flask-smorest's ``Error``.

Every operation's ``default`` response (flask-smorest's DEFAULT_ERROR) carries this schema, so a
client generated from /api/v1/openapi.json reads ``{"error": {code, message, details}, "request_id"}``
as the server sends it; path ids are documented with the signed 64-bit bound the server enforces.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma

from server.db import INT64_MAX
from server.http_safety import Int64Converter


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "UPPER_SNAKE 错误码（API.md）",
                                                      "pattern": "^[A-Z][A-Z0-9_]*$"})
    message = ma.fields.String(required=True, metadata={"description": "中文说明"})
    details = ma.fields.Dict(required=True, metadata={"description": "VALIDATION_ERROR: fields 映射字段 → 消息"})


class ErrorEnvelopeSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)
    request_id = ma.fields.String(allow_none=True, metadata={"description": "同 X-Request-Id 响应头"})


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting our error envelope and our converters' bounds."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def init_app(self, app, *, spec_kwargs=None):  # type: ignore[no-untyped-def]
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.register_converter(Int64Converter, lambda _c: {"type": "integer", "minimum": 0, "maximum": INT64_MAX})
