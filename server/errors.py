"""One application error hierarchy; every error maps to the JSON envelope of docs/api.md.

Domain code raises these with a stable ``code`` and a Chinese ``message``; the web layer
(server/web.py) turns them into ``{"error": {"code", "message", "details"}}`` with ``status``.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error a client may see. Subclasses fix ``status`` and a default code."""

    status: int = 400
    code: str = "BAD_REQUEST"
    message: str = "请求无效"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(f"{self.code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationError(AppError):
    """A malformed request: ``details.fields`` maps each bad field path to a message."""

    status = 400
    code = "VALIDATION_ERROR"
    message = "请求参数有误"

    def __init__(self, fields: dict[str, str] | None = None, message: str | None = None) -> None:
        super().__init__(message, details={"fields": fields or {}})


class PayloadTooLarge(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "请求体过大"


class Unauthenticated(AppError):
    status = 401
    code = "UNAUTHENTICATED"
    message = "请先登录"


class Forbidden(AppError):
    status = 403
    code = "FORBIDDEN"
    message = "无权执行此操作"


class MerchantNotApproved(Forbidden):
    code = "MERCHANT_NOT_APPROVED"
    message = "商户尚未通过审核"


class NotFound(AppError):
    status = 404
    code = "NOT_FOUND"
    message = "资源不存在"


class MethodNotAllowed(AppError):
    status = 405
    code = "METHOD_NOT_ALLOWED"
    message = "不支持该请求方法"


class Conflict(AppError):
    """409: the request clashes with the current state (codes: STATE_CONFLICT, SOLD_OUT, …)."""

    status = 409
    code = "STATE_CONFLICT"
    message = "当前状态不允许此操作"


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"
    message = "同一幂等键已用于不同的请求内容"


class SoldOut(Conflict):
    code = "SOLD_OUT"
    message = "已售罄"


class LimitReached(Conflict):
    code = "LIMIT_REACHED"
    message = "已达到每人限领数量"


class DuplicateExternalOrder(Conflict):
    """The merchant's own order number was already used for this operation (``details`` names the first result)."""

    code = "DUPLICATE_EXTERNAL_ORDER"
    message = "该外部订单号已使用"


class AlreadyReversed(Conflict):
    code = "ALREADY_REVERSED"
    message = "该笔核销已冲正"


class BusinessRuleError(AppError):
    """422: a well-formed request that a business rule refuses; ``code`` names the rule."""

    status = 422
    code = "BUSINESS_RULE"
    message = "业务规则不允许此操作"


class InsufficientBalance(BusinessRuleError):
    code = "INSUFFICIENT_BALANCE"
    message = "余额不足"


class InsufficientUses(BusinessRuleError):
    code = "INSUFFICIENT_USES"
    message = "剩余次数不足"


class InsufficientPoints(BusinessRuleError):
    code = "INSUFFICIENT_POINTS"
    message = "积分不足"


class CodeInvalid(BusinessRuleError):
    code = "CODE_INVALID"
    message = "码无效或已过期，请刷新后重试"


class DocumentsMissing(BusinessRuleError):
    """Approval needs qualification documents the merchant has not uploaded; ``details.missing`` lists their kinds."""

    code = "DOCUMENTS_MISSING"
    message = "资质文件不全"

    def __init__(self, missing: list[str], message: str | None = None) -> None:
        super().__init__(message, details={"missing": list(missing)})


class RateLimited(AppError):
    status = 429
    code = "RATE_LIMITED"
    message = "操作过于频繁，请稍后再试"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            message,
            details={"retry_after": retry_after},
            headers={"Retry-After": str(max(1, int(retry_after)))},
        )


class ServiceUnavailable(AppError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "服务暂不可用，请稍后再试"


class UpstreamError(AppError):
    """A call to WeChat (or another upstream) failed in a way the client cannot fix."""

    status = 502
    code = "UPSTREAM_ERROR"
    message = "微信服务暂时不可用，请稍后再试"


class NotRefundable(BusinessRuleError):
    code = "NOT_REFUNDABLE"
    message = "该卡不可退款"


class MinSpendNotMet(BusinessRuleError):
    code = "MIN_SPEND_NOT_MET"
    message = "未达到最低消费金额"


class CardExpired(BusinessRuleError):
    code = "CARD_EXPIRED"
    message = "卡已过期"


class CardNotActive(BusinessRuleError):
    code = "CARD_NOT_ACTIVE"
    message = "卡当前不可用"


class StoreNotAllowed(BusinessRuleError):
    code = "STORE_NOT_ALLOWED"
    message = "该卡不能在本门店使用"


class ReversalWindowClosed(BusinessRuleError):
    code = "REVERSAL_WINDOW_CLOSED"
    message = "已超过可冲正的时限"


class PaymentNotConfigured(BusinessRuleError):
    """Partner mode: the merchant has no WeChat Pay sub-merchant id yet, so it cannot take payments."""

    code = "PAYMENT_NOT_CONFIGURED"
    message = "该商户尚未开通微信支付收款，暂时无法购买或充值"


class TestRunRequired(BusinessRuleError):
    """A prepaid product goes live only after a passing test run (API.md "Test mode")."""

    code = "TEST_RUN_REQUIRED"
    message = "预付卡上线前须先通过上线前测试（购卡、充值、核销、冲正、退款）"
