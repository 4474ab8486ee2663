"""WeChat card wallet (微信卡包) member cards, through wechatpy's ``client.card`` and ``client.jsapi``.

Member cards belong to an Official Account (公众号) with card permission, bound to the mini-program,
so the client is the Official Account's own (its appid, secret and access token), not the
mini-program's. ``WeChatCard`` has its own ``API_BASE_URL``: it is moved to ``settings.api_base_url``
like ``client.wxa``, and the token like the mini-program's (``KabaoWeChatClient``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage
from wechatpy.utils import WeChatSigner

from server.wechat.client import REDIS_PREFIX, KabaoWeChatClient
from server.wechat.settings import WeChatSettings


class CardWalletError(Exception):
    """A card-wallet call failed (WeChat's errcode, or a transport error). Never shown to a client:
    the sync job logs it and retries later; the card in Kabao is unaffected."""

    def __init__(self, errcode: int | None, errmsg: str | None) -> None:
        super().__init__(f"card wallet call failed: errcode={errcode} errmsg={errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def make_card_wallet_client(settings: WeChatSettings, redis: Any) -> KabaoWeChatClient | None:
    """The Official Account's client (access token and card api_ticket shared through Redis), or
    None when no Official Account is configured (card-wallet sync is off)."""
    if not settings.card_wallet_enabled:
        return None
    client = KabaoWeChatClient(
        settings.oa_appid, settings.oa_secret, session=RedisStorage(redis, prefix=REDIS_PREFIX),
        timeout=settings.timeout,
    )
    client.API_BASE_URL = settings.api_base_url + "cgi-bin/"
    client.card.API_BASE_URL = settings.api_base_url
    return client


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except WeChatClientException as exc:
        try:
            errcode = int(exc.errcode)
        except (TypeError, ValueError):
            errcode = None
        raise CardWalletError(errcode, exc.errmsg) from exc
    except (requests.RequestException, KeyError, ValueError) as exc:
        # Not chained: a requests error's text holds the URL, and with it the access token.
        raise CardWalletError(None, type(exc).__name__) from None


def create_member_card(client: KabaoWeChatClient, card_data: Mapping[str, Any]) -> str:
    """``card/create``; WeChat's card_id."""
    return str(_call(client.card.create, dict(card_data)))


def activate_member_card(client: KabaoWeChatClient, *, card_id: str, code: str, membership_number: str,
                         init_balance: int, init_bonus: int, **fields: Any) -> None:
    """``card/membercard/activate`` with the card's values at activation (balance in fen)."""
    _call(client.card.activate_membercard, membership_number, code, card_id=card_id, init_balance=init_balance,
          init_bonus=init_bonus, **fields)


def update_member_card(client: KabaoWeChatClient, *, card_id: str, code: str, **fields: Any) -> dict[str, Any]:
    """``card/membercard/updateuser``: ``fields`` are WeChat's (``balance``/``add_balance``,
    ``bonus``/``add_bonus``, ``record_*``, ``custom_field_value*``)."""
    return dict(_call(client.card.update_membercard, code, card_id, **fields) or {})


def card_api_ticket(client: KabaoWeChatClient) -> str:
    """The card api_ticket (``ticket/getticket?type=wx_card``), cached in Redis by wechatpy."""
    return str(_call(client.jsapi.get_jsapi_card_ticket))


def card_ext_signature(api_ticket: str, *values: str | None) -> str:
    """WeChat's card signature: SHA1 of the sorted values (api_ticket, timestamp, nonce_str, card_id,
    and code / openid when given) joined with nothing; empty values are left out."""
    signer = WeChatSigner()
    signer.add_data(api_ticket, *(value for value in values if value))
    return signer.signature


def card_ext(api_ticket: str, *, card_id: str, code: str | None = None, openid: str | None = None,
             timestamp: int | None = None, nonce_str: str | None = None) -> str:
    """The ``cardExt`` JSON string ``wx.addCard`` takes for ``card_id``."""
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce_str or secrets.token_hex(16)
    ext: dict[str, str] = {"timestamp": timestamp_text, "nonce_str": nonce}
    if code:
        ext["code"] = code
    if openid:
        ext["openid"] = openid
    ext["signature"] = card_ext_signature(api_ticket, timestamp_text, nonce, card_id, code, openid)
    return json.dumps(ext, separators=(",", ":"))
