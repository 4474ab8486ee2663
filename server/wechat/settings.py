"""WeChat credentials and endpoints, read once from the Flask config.

Base URLs are configurable so the same code can talk to WeChat in production and to the built-in
simulator (wechat_simulator) everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com/"
DEFAULT_PAY_BASE_URL = "https://api.mch.weixin.qq.com/"
DEFAULT_TIMEOUT = 10.0
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
#: Where WeChat Pay sends its notifies, below ``public_base_url``.
PAY_NOTIFY_PATH = "/api/v1/wechat/pay/notify"
REFUND_NOTIFY_PATH = "/api/v1/wechat/refund/notify"


def _base_url(value: Any, default: str) -> str:
    url = str(value or default).strip()
    return url if url.endswith("/") else url + "/"


def _optional(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


@dataclass(frozen=True)
class WeChatSettings:
    """Everything the adapters need; secrets are kept out of ``repr`` so they never reach a log."""

    appid: str
    secret: str = field(repr=False)
    mch_id: str
    pay_key: str = field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    pay_base_url: str = DEFAULT_PAY_BASE_URL
    pay_cert_path: str | None = None
    pay_key_path: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    #: This server's own address, from which the notify URLs given to WeChat Pay are built.
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL

    def __post_init__(self) -> None:
        # wechatpy joins base and endpoint by plain concatenation, so a missing '/' breaks every URL.
        object.__setattr__(self, "api_base_url", _base_url(self.api_base_url, DEFAULT_API_BASE_URL))
        object.__setattr__(self, "pay_base_url", _base_url(self.pay_base_url, DEFAULT_PAY_BASE_URL))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WeChatSettings:
        """Build from Flask config keys (``WECHAT_*``); empty values fall back to the defaults."""
        return cls(
            appid=str(config.get("WECHAT_APPID") or ""),
            secret=str(config.get("WECHAT_SECRET") or ""),
            mch_id=str(config.get("WECHAT_MCH_ID") or ""),
            pay_key=str(config.get("WECHAT_PAY_KEY") or ""),
            api_base_url=_base_url(config.get("WECHAT_API_BASE_URL"), DEFAULT_API_BASE_URL),
            pay_base_url=_base_url(config.get("WECHAT_PAY_BASE_URL"), DEFAULT_PAY_BASE_URL),
            pay_cert_path=_optional(config.get("WECHAT_PAY_CERT_PATH")),
            pay_key_path=_optional(config.get("WECHAT_PAY_KEY_PATH")),
            timeout=float(config.get("WECHAT_HTTP_TIMEOUT") or DEFAULT_TIMEOUT),
            public_base_url=str(config.get("PUBLIC_BASE_URL") or DEFAULT_PUBLIC_BASE_URL).rstrip("/"),
        )

    @property
    def pay_notify_url(self) -> str:
        return self.public_base_url + PAY_NOTIFY_PATH

    @property
    def refund_notify_url(self) -> str:
        return self.public_base_url + REFUND_NOTIFY_PATH
