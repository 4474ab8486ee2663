"""The WeChat adapter layer: every call to WeChat (login, subscribe messages, Pay) goes through here.

No database and no app factory here: the factory builds these from ``WeChatSettings.from_config``
and the domains use them. ``wechat_simulator`` is a local stand-in for WeChat.
"""

from server.wechat.client import (
    KabaoWeChatClient,
    WeChatSession,
    code_to_session,
    make_wechat_client,
    send_subscribe_message,
)
from server.wechat.errors import (
    InvalidNotify,
    OrderAlreadyPaid,
    OrderNotExist,
    PayConfigurationError,
    PaymentError,
    SubscribeMessageError,
    WeChatCodeInvalid,
    WeChatRateLimited,
    WeChatUpstreamError,
)
from server.wechat.pay import (
    OrderQueryResult,
    PaymentGateway,
    PaymentNotice,
    RefundNotice,
    RefundResult,
    WeChatPayV2Gateway,
    new_out_trade_no,
)
from server.wechat.settings import WeChatSettings

__all__ = [
    "InvalidNotify",
    "KabaoWeChatClient",
    "OrderAlreadyPaid",
    "OrderNotExist",
    "OrderQueryResult",
    "PayConfigurationError",
    "PaymentError",
    "PaymentGateway",
    "PaymentNotice",
    "RefundNotice",
    "RefundResult",
    "SubscribeMessageError",
    "WeChatCodeInvalid",
    "WeChatPayV2Gateway",
    "WeChatRateLimited",
    "WeChatSession",
    "WeChatSettings",
    "WeChatUpstreamError",
    "code_to_session",
    "make_wechat_client",
    "new_out_trade_no",
    "send_subscribe_message",
]
