"""Errors raised by the WeChat adapters.

Errors a client may see subclass the hierarchy in server/errors.py, so the web layer renders them
like any other. Errors only the server acts on (a bad notify, a failed subscribe message) are plain
exceptions: the caller decides what to answer.
"""

from __future__ import annotations

from server.errors import AppError, RateLimited, ServiceUnavailable, UpstreamError


class WeChatCodeInvalid(AppError):
    """The ``wx.login`` code was unknown, used or expired: the mini-program must log in again."""

    status = 400
    code = "WECHAT_CODE_INVALID"
    message = "登录凭证无效或已过期，请重新登录"


class WeChatRateLimited(RateLimited):
    """WeChat throttled the user (45011); the client retries after ``Retry-After``."""

    message = "微信登录过于频繁，请稍后再试"


class WeChatUpstreamError(UpstreamError):
    """WeChat failed or answered an error the client cannot fix; ``errcode`` is kept for logs."""

    def __init__(self, message: str | None = None, *, errcode: int | str | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class PaymentError(UpstreamError):
    """A WeChat Pay call failed. ``err_code`` is WeChat's business code (e.g. ``ORDERPAID``), if any."""

    message = "微信支付暂时不可用，请稍后再试"

    def __init__(self, reason: str, *, err_code: str | None = None, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.err_code = err_code

    def __str__(self) -> str:
        return f"{self.reason} (err_code={self.err_code})"


class OrderNotExist(PaymentError):
    """WeChat has no such order (``ORDERNOTEXIST``), e.g. the unified order never reached it."""


class OrderAlreadyPaid(PaymentError):
    """The order was paid (``ORDERPAID``): settle it instead of closing or re-creating it."""


class PayConfigurationError(ServiceUnavailable):
    """WeChat Pay is not configured for this operation (e.g. refund without a merchant certificate).

    ``reason`` is the operator-facing explanation; the client only sees a generic 503.
    """

    message = "微信支付配置不完整，暂时无法处理"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class InvalidNotify(Exception):
    """A payment/refund notify that must not be trusted; answer FAIL and credit nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SubscribeMessageError(Exception):
    """Sending a subscribe message failed. Never shown to a client: callers log and move on."""

    def __init__(self, errcode: int | None, errmsg: str | None) -> None:
        super().__init__(f"subscribe message failed: errcode={errcode} errmsg={errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
