"""The app's WeChat adapters, built once per app from its config and shared by every request.

Only boundaries (views, CLI commands, jobs) call these; they hand the adapters to the services.
The Pay gateway follows ``WECHAT_PAY_VERSION``; tests install another with ``set_payment_gateway``.
"""

from __future__ import annotations

from flask import Flask, current_app

from server.extensions import get_redis
from server.wechat import KabaoWeChatClient, PaymentGateway, WeChatPayV2Gateway, WeChatSettings, make_wechat_client

_GATEWAY = "kabao_payment_gateway"
_CLIENT = "kabao_wechat_client"

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



_CARD_WALLET = "kabao_card_wallet_client"


def get_card_wallet_client() -> KabaoWeChatClient | None:
    """The Official Account's client for card-wallet sync, or None when it is not configured."""
    if _CARD_WALLET not in current_app.extensions:
        from server.wechat.card_wallet import make_card_wallet_client

        current_app.extensions[_CARD_WALLET] = make_card_wallet_client(
            WeChatSettings.from_config(current_app.config), get_redis())
    return current_app.extensions[_CARD_WALLET]


def set_card_wallet_client(app: Flask, client: KabaoWeChatClient | None) -> None:
    """Forget the built client (tests changing WECHAT_OA_* build it again on next use)."""
    app.extensions.pop(_CARD_WALLET, None)
    if client is not None:
        app.extensions[_CARD_WALLET] = client
