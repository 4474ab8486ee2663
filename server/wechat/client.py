"""Mini-program server APIs (login, subscribe messages) on wechatpy's ``WeChatClient``.

wechatpy 1.8.18 hard-codes the access-token URL and gives ``WeChatWxa`` its own base URL; both are
redirected here so every call, the token included, goes to ``settings.api_base_url``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from server.wechat.errors import (
    SubscribeMessageError,
    WeChatCodeInvalid,
    WeChatRateLimited,
    WeChatUpstreamError,
)
from server.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)

REDIS_PREFIX = "wechat"
CODE_INVALID_ERRCODES = frozenset({40029, 40163})
RATE_LIMIT_ERRCODE = 45011
RATE_LIMIT_RETRY_AFTER = 60
MINIPROGRAM_STATES = frozenset({"developer", "trial", "formal"})
_CREDENTIAL_IN_QUERY = re.compile(r"\b(secret|js_code|access_token)=[^&\s\"']*")


class _RedactCredentials(logging.Filter):
    """WeChat wants the app secret, login code and access token in query strings, and urllib3 logs
    request lines at DEBUG: blank them so they can never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _CREDENTIAL_IN_QUERY.sub(r"\1=***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactCredentials())


class _TimeoutSession(requests.Session):
    """A session with a default timeout: wechatpy's token fetch passes none and could hang forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._default_timeout
        return super().request(method, url, *args, **kwargs)


class KabaoWeChatClient(WeChatClient):
    """``WeChatClient`` whose token endpoint follows ``API_BASE_URL`` instead of the hard-coded host."""

    def __init__(self, appid: str, secret: str, *, session: Any, timeout: float) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self._http = _TimeoutSession(timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def make_wechat_client(settings: WeChatSettings, redis: Any) -> KabaoWeChatClient:
    """A client whose access token is shared through Redis by every worker (one token per appid)."""
    client = KabaoWeChatClient(
        settings.appid,
        settings.secret,
        session=RedisStorage(redis, prefix=REDIS_PREFIX),
        timeout=settings.timeout,
    )
    client.API_BASE_URL = settings.api_base_url + "cgi-bin/"
    client.wxa.API_BASE_URL = settings.api_base_url
    return client


@dataclass(frozen=True)
class WeChatSession:
    """The result of ``code2session``. ``session_key`` must never be sent to the client or logged."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


def code_to_session(client: WeChatClient, code: str) -> WeChatSession:
    """Exchange a ``wx.login`` code for the user's identity, mapping WeChat errors to client errors."""
    if not isinstance(code, str) or not code.strip() or len(code) > 256:
        raise WeChatCodeInvalid()
    try:
        result = client.wxa.code_to_session(code.strip())
    except WeChatClientException as exc:
        errcode = _errcode(exc)
        if errcode in CODE_INVALID_ERRCODES:
            logger.info("wechat code2session refused the code: errcode=%s", errcode)
            raise WeChatCodeInvalid() from exc
        if errcode == RATE_LIMIT_ERRCODE:
            logger.warning("wechat code2session rate limited: errcode=%s", errcode)
            raise WeChatRateLimited(RATE_LIMIT_RETRY_AFTER) from exc
        logger.error("wechat code2session failed: errcode=%s errmsg=%s", errcode, exc.errmsg)
        raise WeChatUpstreamError(errcode=errcode) from exc
    except (requests.RequestException, KeyError, ValueError) as exc:
        # Not chained: a requests error's text holds the URL, and with it the app secret.
        logger.error("wechat code2session failed: %s", type(exc).__name__)
        raise WeChatUpstreamError() from None
    if not isinstance(result, Mapping) or not result.get("openid") or not result.get("session_key"):
        logger.error("wechat code2session answered without openid/session_key")
        raise WeChatUpstreamError()
    return WeChatSession(
        openid=str(result["openid"]),
        unionid=str(result["unionid"]) if result.get("unionid") else None,
        session_key=str(result["session_key"]),
    )


def send_subscribe_message(
    client: WeChatClient,
    *,
    openid: str,
    template_id: str,
    data: Mapping[str, Any],
    page: str | None = None,
    state: str = "formal",
) -> None:
    """Send one subscribe message; raises ``SubscribeMessageError`` (callers log it and go on).

    ``data`` maps each template field to its value, either ``"text"`` or ``{"value": "text"}``.
    ``state`` is ``miniprogram_state``: which mini-program version a tap on the message opens.
    """
    if state not in MINIPROGRAM_STATES:
        raise ValueError(f"state must be one of {sorted(MINIPROGRAM_STATES)}")
    payload: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "data": {
            key: value if isinstance(value, Mapping) else {"value": str(value)} for key, value in data.items()
        },
        "miniprogram_state": state,
        "lang": "zh_CN",
    }
    if page:
        payload["page"] = page
    try:
        client.post("message/subscribe/send", data=payload)
    except WeChatClientException as exc:
        raise SubscribeMessageError(_errcode(exc), exc.errmsg) from exc
    except (requests.RequestException, KeyError, ValueError) as exc:
        # Not chained: a requests error's text holds the URL, and with it the access token.
        raise SubscribeMessageError(None, type(exc).__name__) from None


def _errcode(exc: WeChatClientException) -> int | None:
    try:
        return int(exc.errcode)
    except (TypeError, ValueError):
        return None
