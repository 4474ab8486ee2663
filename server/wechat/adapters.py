"""The app's WeChat adapters, built once per app from its config and shared by every request.

The Pay gateway follows ``WECHAT_PAY_VERSION``; tests install another with ``set_payment_gateway``.
"""

from __future__ import annotations

from flask import Flask, current_app

from server.extensions import get_redis
from server.wechat import KabaoWeChatClient, PaymentGateway, WeChatPayV2Gateway, WeChatSettings, make_wechat_client

_GATEWAY = "kabao_payment_gateway"
_CLIENT = "kabao_wechat_client"

PAY_NOTIFY_PATH = "/api/v1/wechat/pay/notify"
REFUND_NOTIFY_PATH = "/api/v1/wechat/refund/notify"
PAY_V3_NOTIFY_PATH = "/api/v1/wechat/pay/v3/notify"
REFUND_V3_NOTIFY_PATH = "/api/v1/wechat/refund/v3/notify"


def make_payment_gateway(settings: WeChatSettings) -> PaymentGateway:
    """The gateway of the configured WeChat Pay version (``WECHAT_PAY_VERSION``)."""
    if settings.pay_version == "v3":
        from server.wechat.pay_v3 import WeChatPayV3Gateway

        return WeChatPayV3Gateway(settings)
    return WeChatPayV2Gateway(settings)


def get_payment_gateway() -> PaymentGateway:
    gateway = current_app.extensions.get(_GATEWAY)
    if gateway is None:
        gateway = current_app.extensions.setdefault(
            _GATEWAY, make_payment_gateway(WeChatSettings.from_config(current_app.config))
        )
    return gateway


def set_payment_gateway(app: Flask, gateway: PaymentGateway | None) -> None:
    """Use ``gateway`` for ``app`` (None: build the configured one again on next use)."""
    if gateway is None:
        app.extensions.pop(_GATEWAY, None)
    else:
        app.extensions[_GATEWAY] = gateway


def get_wechat_client() -> KabaoWeChatClient:
    client = current_app.extensions.get(_CLIENT)
    if client is None:
        client = current_app.extensions.setdefault(
            _CLIENT, make_wechat_client(WeChatSettings.from_config(current_app.config), get_redis())
        )
    return client


def _v3() -> bool:
    return (current_app.config.get("WECHAT_PAY_VERSION") or "v2") == "v3"


def pay_notify_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"] + (PAY_V3_NOTIFY_PATH if _v3() else PAY_NOTIFY_PATH)


def refund_notify_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"] + (REFUND_V3_NOTIFY_PATH if _v3() else REFUND_NOTIFY_PATH)
