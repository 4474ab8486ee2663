"""The OpenAPI document's cross-cutting parts, completed for every operation in one place.

Views declare what they are with the decorators they already carry: ``require`` / ``staff_action`` /
``require_scope`` mark the credential (``mark_auth``), ``@idempotent`` marks the Idempotency-Key
(``mark_idempotent``). The API blueprint (server/schemas.py) reads these marks when a route is
registered and ``complete_operation`` turns them into the operation's ``security``, its required
``Idempotency-Key`` header and the error envelope for each error status it can answer — so no view
documents any of it by hand, and a new view is documented the moment it is guarded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from apispec import APISpec
from marshmallow import fields

from server.db import INT64_MAX
from server.http_safety import Int64Converter

F = TypeVar("F", bound=Callable[..., Any])


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting the bounds our URL converters enforce (64-bit path ids)."""

    def init_app(self, app, *, spec_kwargs=None):  # type: ignore[no-untyped-def]
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.register_converter(Int64Converter, lambda _c: {"type": "integer", "minimum": 0, "maximum": INT64_MAX})


class DocSchema(ma.Schema):
    """Base of the response schemas. They document what a view answers (views serialise with jsonify);
    clients must accept fields added later (docs/api.md: "add fields freely"), so more are allowed."""

    class Meta:
        unknown = ma.INCLUDE


class ErrorBodySchema(DocSchema):
    code = fields.String(required=True, metadata={"example": "VALIDATION_ERROR", "pattern": "^[A-Z][A-Z0-9_]*$"})
    message = fields.String(required=True, metadata={"example": "请求参数有误"})
    details = fields.Dict(required=True, metadata={
        "description": "400 时 fields 为 字段路径 → 说明；其他错误可带补充信息（如 DOCUMENTS_MISSING 的 missing）"})


class ErrorEnvelopeSchema(DocSchema):
    """Every error: ``{"error": {"code", "message", "details"}}`` (and ``request_id`` where logged)."""

    error = fields.Nested(ErrorBodySchema, required=True)
    request_id = fields.String(metadata={"description": "请求编号（如有），排查问题时提供"})


_AUTH = "_kabao_auth"
_IDEMPOTENT = "_kabao_idempotent"
_ERRORS = "_kabao_errors"

#: Principal kind (server.auth.PrincipalKind values, and "api_key") → security scheme.
SECURITY_SCHEMES: dict[str, tuple[str, dict[str, Any]]] = {
    "staff": ("StaffToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "opaque",
        "description": "员工令牌：POST /api/v1/merchant/login 返回的 token（Authorization: Bearer …）。"
                       "其他类型的令牌在此返回 403，API 密钥返回 401。"}),
    "consumer": ("ConsumerToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "opaque",
        "description": "小程序用户令牌：POST /api/v1/mp/login 返回的 token（Authorization: Bearer …）。"}),
    "admin": ("PlatformAdminToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "opaque",
        "description": "平台管理员令牌：POST /api/v1/platform/login 返回的 token（Authorization: Bearer …）。"}),
    "api_key": ("ApiKey", {
        "type": "http", "scheme": "bearer", "bearerFormat": "kb_live_… / kb_test_…",
        "description": "商户后台「API 密钥」页创建的密钥：Authorization: Bearer kb_live_…"
                       "（员工与用户令牌在此无效，401）。"}),
}

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": True,
    "description": "幂等键（必填，1–64 个可打印 ASCII 字符）：同一调用方、同一键、同一请求体返回首次的状态与"
                   "响应体（响应头 Idempotent-Replayed: true）；请求体不同则 409 IDEMPOTENCY_CONFLICT。"
                   "缺失或格式错误为 400。",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]{1,64}$"},
}

#: Each error status of docs/api.md, with the codes it carries.
ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR：请求参数有误，details.fields 为 字段路径 → 中文说明（缺少 Idempotency-Key 亦然）",
    401: "UNAUTHENTICATED：缺少凭证、凭证无效或已过期",
    403: "FORBIDDEN（凭证类型或角色无权访问、门店不符、权限范围不足）/ MERCHANT_NOT_APPROVED",
    404: "NOT_FOUND：资源不存在或属于其他商户/用户",
    409: "STATE_CONFLICT、IDEMPOTENCY_CONFLICT、SOLD_OUT、LIMIT_REACHED、ALREADY_REVERSED、DUPLICATE_EXTERNAL_ORDER",
    405: "METHOD_NOT_ALLOWED：不支持该请求方法",
    413: "PAYLOAD_TOO_LARGE：请求体过大",
    422: "业务规则：CODE_INVALID、INSUFFICIENT_BALANCE、INSUFFICIENT_USES、INSUFFICIENT_POINTS、CARD_EXPIRED、"
         "CARD_NOT_ACTIVE、MIN_SPEND_NOT_MET、STORE_NOT_ALLOWED、AMOUNT_NOT_ALLOWED、NOT_TRANSFERABLE、NOT_REFUNDABLE、"
         "VALIDATION_FAILED、REVERSAL_WINDOW_CLOSED、PAYMENT_NOT_CONFIGURED、DOCUMENTS_MISSING 等",
    429: "RATE_LIMITED：请求过于频繁，Retry-After 秒后重试",
    503: "SERVICE_UNAVAILABLE：数据库或缓存暂不可用",
}
RETRY_AFTER = {"Retry-After": {"description": "多少秒后可重试", "schema": {"type": "integer", "minimum": 0}}}


#: Bodies that are files: CSV text, and binary (PNG, XLSX, PDF).
CSV = {"type": "string", "description": "CSV，首行为表头"}
BINARY = {"type": "string", "format": "binary"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def error_response_name(status: int | str) -> str:
    return f"Error{status}"


def mark_auth(view: F, kind: str) -> F:
    """Record which credential guards ``view`` (a PrincipalKind value, or "api_key")."""
    setattr(view, _AUTH, kind)
    return view


def mark_idempotent(view: F) -> F:
    """Record that ``view`` requires the Idempotency-Key header."""
    setattr(view, _IDEMPOTENT, True)
    return view


def error_statuses(*statuses: int) -> Callable[[F], F]:
    """Override the error statuses an operation documents (``error_statuses()`` for none: WeChat's
    callbacks answer in WeChat's protocol, never in the envelope)."""

    def decorator(view: F) -> F:
        setattr(view, _ERRORS, tuple(statuses))
        return view

    return decorator


def operation_facts(view: Any) -> dict[str, Any]:
    """The marks a (decorated) view function carries; ``functools.wraps`` copies them outwards."""
    return {"auth": getattr(view, _AUTH, None), "idempotent": bool(getattr(view, _IDEMPOTENT, False)),
            "errors": getattr(view, _ERRORS, None)}


def default_errors(method: str, authenticated: bool) -> tuple[int, ...]:
    """Where each error can occur: any body or query can be invalid (400) and any lookup miss (404);
    business rules (422), rate limits (429) and outages (503) anywhere; a change can conflict (409, also
    when a commit meets a concurrent one); guarded operations refuse credentials (401, 403)."""
    statuses = {400, 404, 422, 429, 503}
    if method.lower() != "get":
        statuses |= {409, 413}
    if authenticated:
        statuses |= {401, 403}
    return tuple(sorted(statuses))


def ecma_pattern(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: a Python regex's ``\\A`` / ``\\Z`` (whole-string anchors, which Python's
    ``^`` / ``$`` are not) become ECMA-262's ``^`` / ``$`` (which are), so the document's patterns are valid
    JSON Schema and mean what the server checks."""
    pattern = ret.get("pattern")
    if not isinstance(pattern, str):
        return {}
    return {"pattern": pattern.replace("\\A", "^").replace("\\Z", "$")}


def init_document(api: Any) -> None:
    """Prepare a flask-smorest Api's document; call before any blueprint is registered."""
    api.ma_plugin.converter.add_attribute_function(ecma_pattern)
    register_components(api.spec)


def register_components(spec: APISpec) -> None:
    """Security schemes and the shared error responses, once per document."""
    components = spec.components
    for name, scheme in SECURITY_SCHEMES.values():
        if name not in components.security_schemes:
            components.security_scheme(name, scheme)
    for status, description in [*ERROR_DESCRIPTIONS.items(), ("Default", "其他错误：同一错误信封")]:
        name = error_response_name(status)
        if name not in components.responses:
            response: dict[str, Any] = {"description": description,
                                        "content": {"application/json": {"schema": ErrorEnvelopeSchema}}}
            if status == 429:
                response["headers"] = RETRY_AFTER
            components.response(name, response)


def complete_operation(doc: dict[str, Any], facts: dict[str, Any] | None, method: str, spec: APISpec) -> dict[str, Any]:
    """Add security, the Idempotency-Key header and the error responses to one operation's doc."""
    register_components(spec)
    facts = facts or {}
    auth = facts.get("auth")
    doc.setdefault("security", [{SECURITY_SCHEMES[auth][0]: []}] if auth else [])
    if facts.get("idempotent"):
        parameters = doc.setdefault("parameters", [])
        if not any(isinstance(p, dict) and p.get("name") == IDEMPOTENCY_HEADER for p in parameters):
            parameters.append(dict(IDEMPOTENCY_PARAMETER))
    errors: Iterable[int] = facts["errors"] if facts.get("errors") is not None else default_errors(method, bool(auth))
    responses = doc.setdefault("responses", {})
    # flask-smorest's own error responses (BAD_REQUEST, DEFAULT_ERROR, …) describe its error schema,
    # which this server never answers: ours replace them.
    for status, response in list(responses.items()):
        if isinstance(response, str) and not response.startswith("Error"):
            del responses[status]
    for status in errors:
        if status not in responses and str(status) not in responses:
            responses[status] = error_response_name(status)
    if errors:
        responses["default"] = "ErrorDefault"
    return doc
