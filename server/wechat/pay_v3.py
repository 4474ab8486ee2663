"""WeChat Pay API v3 behind ``PaymentGateway``, on the ``wechatpayv3`` package.

wechatpayv3 signs every request (``WECHATPAY2-SHA256-RSA2048``), verifies every 2xx answer and
every notify with the WeChat Pay public key (or the platform certificates it downloads), and
decrypts notify resources (AES-256-GCM with the APIv3 key). It does not check a notify's
timestamp, its serial before it goes looking for certificates, nor who the notify is for: this
gateway does, and turns WeChat's JSON into the same ``PaymentNotice``/``RefundNotice`` values the v2
gateway produces, so the payments domain settles both versions with the same code.

Partner mode (服务商): the same account settings are the service provider's (sp_mchid) and every call
names the merchant's ``sub_mchid``; notifies must name ours as sp_mchid and carry a sub_mchid,
which settlement compares with the order's.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core

from server.timeutil import SHANGHAI
from server.wechat.errors import InvalidNotify, OrderAlreadyPaid, OrderNotExist, PayConfigurationError, PaymentError
from server.wechat.pay import (
    _OUT_REFUND_NO,
    _OUT_TRADE_NO,
    OrderQueryResult,
    PaymentGateway,
    PaymentNotice,
    RefundNotice,
    RefundResult,
    V3NotifyReplies,
    _check_fen,
    _check_number,
    refund_result,
)
from server.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)

#: A notify whose Wechatpay-Timestamp is further than this from our clock is refused (replays).
NOTIFY_TOLERANCE_SECONDS = 300
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_MAX_NOTIFY_BYTES = 64 * 1024
_DESCRIPTION_MAX_CHARS = 127
_REASON_MAX_CHARS = 80
_ATTACH_MAX_CHARS = 128
#: v3 refund states in the vocabulary ``RefundNotice`` shares with v2 (CHANGE: failed).
_REFUND_STATUS = {"SUCCESS": "SUCCESS", "ABNORMAL": "CHANGE", "CLOSED": "REFUNDCLOSE", "PROCESSING": "PROCESSING"}
#: v3 error codes in the v2 vocabulary the domain acts on (transient ones are retried).
_ERR_CODE = {"SYSTEM_ERROR": "SYSTEMERROR", "ORDER_NOT_EXIST": "ORDERNOTEXIST", "ORDERNOTEXIST": "ORDERNOTEXIST",
             "ORDERPAID": "ORDERPAID", "ORDER_PAID": "ORDERPAID", "RESOURCE_NOT_EXISTS": "REFUNDNOTEXIST"}
_ERROR_CLASS = {"ORDERNOTEXIST": OrderNotExist, "ORDERPAID": OrderAlreadyPaid}


class _Core(Core):
    """wechatpayv3's transport with the host taken from our settings.

    The library hard-codes ``https://api.mch.weixin.qq.com`` in ``_gate_way`` and uses it from its
    constructor on (platform certificates are downloaded there); this property makes every request,
    that first one included, go to the configured base URL.
    """

    def __init__(self, *, gateway: str, **kwargs: Any) -> None:
        self._kabao_gateway = gateway
        super().__init__(**kwargs)

    @property
    def _gate_way(self) -> str:  # type: ignore[override]
        return self._kabao_gateway

    @_gate_way.setter
    def _gate_way(self, _value: str) -> None:
        pass  # the library's hard-coded host is ignored


class _WeChatPay(WeChatPay):
    """``wechatpayv3.WeChatPay`` on ``_Core`` (same attributes its constructor sets)."""

    def __init__(self, *, gateway: str, wechatpay_type: WeChatPayType, mchid: str, appid: str,
                 partner_mode: bool, **core_kwargs: Any) -> None:
        self._type = wechatpay_type
        self._mchid = mchid
        self._appid = appid
        self._notify_url = None
        self._partner_mode = partner_mode
        self._core = _Core(gateway=gateway, mchid=mchid, **core_kwargs)


def _read(path: str | None, name: str) -> str:
    if not path:
        raise PayConfigurationError(f"WeChat Pay v3 needs {name}")
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PayConfigurationError(f"{name} cannot be read: {path}") from exc


class WeChatPayV3Gateway(V3NotifyReplies, PaymentGateway):
    """WeChat Pay API v3 (JSON, RSA) through wechatpayv3, direct or as a service provider."""

    version = "v3"

    def __init__(self, settings: WeChatSettings) -> None:
        self._settings = settings
        self.pay_notify_url = settings.pay_notify_url
        self.refund_notify_url = settings.refund_notify_url
        self.partner = settings.pay_mode == "partner"
        public_key = _read(settings.pay_public_key_path, "WECHAT_PAY_PUBLIC_KEY_PATH") \
            if settings.pay_public_key_path else None
        if not settings.apiv3_key or not settings.mch_cert_serial_no:
            raise PayConfigurationError("WeChat Pay v3 needs WECHAT_PAY_APIV3_KEY and WECHAT_PAY_MCH_CERT_SERIAL_NO")
        try:
            self._pay = _WeChatPay(
                gateway=settings.pay_base_url.rstrip("/"),
                wechatpay_type=WeChatPayType.MINIPROG,
                mchid=settings.mch_id,
                appid=settings.appid,
                partner_mode=self.partner,
                private_key=_read(settings.mch_private_key_path, "WECHAT_PAY_MCH_PRIVATE_KEY_PATH"),
                cert_serial_no=settings.mch_cert_serial_no,
                apiv3_key=settings.apiv3_key,
                cert_dir=settings.platform_cert_dir,
                timeout=settings.timeout,
                public_key=public_key,
                public_key_id=settings.pay_public_key_id if public_key else None,
            )
        except PayConfigurationError:
            raise
        except Exception as exc:  # bad key text, or no platform certificate could be had
            raise PayConfigurationError(f"WeChat Pay v3 cannot start: {exc}") from exc

    # --- orders ---

    def create_order(self, *, out_trade_no: str, amount_fen: int, description: str, openid: str, client_ip: str,
                     notify_url: str, attach: str, expire_at: datetime, sub_mchid: str | None = None) -> str:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        _check_fen(amount_fen, "amount_fen")
        if not openid or not client_ip or not notify_url:
            raise ValueError("openid, client_ip and notify_url are required")
        if expire_at.tzinfo is None:
            raise ValueError("expire_at must be timezone-aware")
        if attach and len(attach) > _ATTACH_MAX_CHARS:
            raise ValueError(f"attach is limited to {_ATTACH_MAX_CHARS} characters")
        data = self._call(
            "jsapi", out_trade_no, self._pay.pay,
            description=description[:_DESCRIPTION_MAX_CHARS],
            out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"},
            payer={"sp_openid": openid} if self.partner else {"openid": openid},
            time_expire=expire_at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            attach=attach or None,
            scene_info={"payer_client_ip": client_ip},
            notify_url=notify_url,
            **self._sub(sub_mchid),
        )
        if not data.get("prepay_id"):
            raise PaymentError("jsapi answered without prepay_id")
        return str(data["prepay_id"])

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        if not prepay_id:
            raise ValueError("prepay_id is required")
        timestamp, nonce = str(int(time.time())), _nonce()
        package = f"prepay_id={prepay_id}"
        return {"timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
                "paySign": self._pay.sign([self._settings.appid, timestamp, nonce, package])}

    def query_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> OrderQueryResult:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        data = self._call("query", out_trade_no, self._pay.query, out_trade_no=out_trade_no, **self._sub(sub_mchid))
        trade_state = data.get("trade_state")
        if not trade_state:
            raise PaymentError("query answered without trade_state")
        amount = data.get("amount") or {}
        try:
            total = int(amount["total"]) if amount.get("total") is not None else None
            time_end = datetime.fromisoformat(data["success_time"]) if data.get("success_time") else None
        except (TypeError, ValueError) as exc:
            raise PaymentError("query answered a malformed amount/success_time") from exc
        if trade_state == "SUCCESS" and (not data.get("transaction_id") or total is None):
            raise PaymentError("query SUCCESS without transaction_id/amount")
        return OrderQueryResult(
            out_trade_no=str(data.get("out_trade_no") or out_trade_no),
            trade_state=str(trade_state),
            trade_state_desc=data.get("trade_state_desc") or None,
            transaction_id=data.get("transaction_id") or None,
            total_fee=total,
            appid=str(data.get("sp_appid") or data.get("appid") or ""),
            mch_id=str(data.get("sp_mchid") or data.get("mchid") or ""),
            openid=_openid(data),
            attach=data.get("attach") or None,
            time_end=time_end,
            sub_mchid=data.get("sub_mchid") or None,
        )

    def close_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> None:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        self._call("close", out_trade_no, self._pay.close, out_trade_no=out_trade_no, **self._sub(sub_mchid))

    # --- refunds ---

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, notify_url: str,
               reason: str, sub_mchid: str | None = None) -> RefundResult:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        _check_number(_OUT_REFUND_NO, out_refund_no, "out_refund_no")
        _check_fen(total_fen, "total_fen")
        _check_fen(refund_fen, "refund_fen")
        if refund_fen > total_fen:
            raise ValueError("refund_fen exceeds total_fen")
        data = self._call(
            "refund", out_refund_no, self._pay.refund,
            out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            out_trade_no=out_trade_no,
            reason=(reason or "")[:_REASON_MAX_CHARS] or None,
            notify_url=notify_url,
            **self._sub(sub_mchid),
        )
        amount = data.get("amount") or {}
        return refund_result(data, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                             refund_fee=amount.get("refund") or refund_fen, total_fee=amount.get("total") or total_fen)

    def query_refund(self, out_refund_no: str, *, sub_mchid: str | None = None) -> RefundNotice:
        _check_number(_OUT_REFUND_NO, out_refund_no, "out_refund_no")
        data = self._call("refundquery", out_refund_no, self._pay.query_refund, out_refund_no=out_refund_no,
                          **self._sub(sub_mchid))
        try:
            return _refund_notice(data, status_field="status")
        except InvalidNotify as exc:
            raise PaymentError(f"refund query answered without the refund's fields: {exc.reason}") from exc

    # --- notifies ---

    def parse_payment_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> PaymentNotice:
        notify = self._verified(body, headers, "TRANSACTION.")
        resource = notify["resource"]
        self._check_merchant(resource, appid_field=True)
        trade_state = _text(resource, "trade_state")
        paid = trade_state == "SUCCESS"
        return PaymentNotice(
            out_trade_no=_text(resource, "out_trade_no"),
            transaction_id=_text(resource, "transaction_id") if paid else resource.get("transaction_id") or None,
            total_fee=_amount(resource, "total"),
            appid=str(resource.get("sp_appid") or resource.get("appid")),
            mch_id=str(resource.get("sp_mchid") or resource.get("mchid")),
            result_code=trade_state,
            openid=_openid(resource),
            attach=resource.get("attach") or None,
            time_end=_time(resource.get("success_time"), required=paid),
            sub_mchid=resource.get("sub_mchid") or None,
        )

    def parse_refund_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> RefundNotice:
        notify = self._verified(body, headers, "REFUND.")
        resource = notify["resource"]
        self._check_merchant(resource, appid_field=False)
        return _refund_notice(resource, status_field="refund_status")

    def _verified(self, body: bytes, headers: Mapping[str, str] | None, event_prefix: str) -> dict[str, Any]:
        """Signature, serial, timestamp and decryption, through wechatpayv3 where it can do them."""
        if not body or not body.strip():
            raise InvalidNotify("empty body")
        if len(body) > _MAX_NOTIFY_BYTES:
            raise InvalidNotify("body too large")
        headers = headers or {}
        wanted = {name: headers.get(name) or "" for name in
                  ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial")}
        if not all(wanted.values()):
            raise InvalidNotify("missing signature headers")
        if (headers.get("Wechatpay-Signature-Type") or SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise InvalidNotify("unsupported signature type")
        wanted["Wechatpay-Signature-Type"] = SIGNATURE_TYPE
        if not self._known_serial(wanted["Wechatpay-Serial"]):
            raise InvalidNotify("unknown Wechatpay-Serial")
        try:
            stamp = int(wanted["Wechatpay-Timestamp"])
        except ValueError as exc:
            raise InvalidNotify("malformed timestamp") from exc
        if abs(time.time() - stamp) > NOTIFY_TOLERANCE_SECONDS:
            raise InvalidNotify("timestamp more than 5 minutes off")
        try:
            text = body.decode("utf-8")
            notify = self._pay.callback(wanted, text)
        except Exception as exc:  # malformed JSON or resource: not WeChat's
            raise InvalidNotify("body is not a v3 notify") from exc
        if not isinstance(notify, dict) or not isinstance(notify.get("resource"), dict):
            # wechatpayv3 answers None both for a bad signature and a resource the APIv3 key cannot open
            raise InvalidNotify("signature or resource invalid")
        if not str(notify.get("event_type") or "").startswith(event_prefix):
            raise InvalidNotify("unexpected event_type")
        return notify

    def _known_serial(self, serial: str) -> bool:
        """Checked before wechatpayv3 sees it: for an unknown serial the library downloads certificates."""
        if self._settings.pay_public_key_id:
            return serial == self._settings.pay_public_key_id
        try:
            number = int(serial, 16)
        except ValueError:
            return False
        return any(cert.serial_number == number for cert in self._pay._core._certificates)

    def _check_merchant(self, resource: Mapping[str, Any], *, appid_field: bool) -> None:
        settings = self._settings
        if self.partner:
            if appid_field and resource.get("sp_appid") != settings.appid:
                raise InvalidNotify("appid is not ours")
            if resource.get("sp_mchid") != settings.mch_id:
                raise InvalidNotify("mch_id is not ours")
            if not resource.get("sub_mchid"):
                raise InvalidNotify("missing sub_mchid")
            return
        if appid_field and resource.get("appid") != settings.appid:
            raise InvalidNotify("appid is not ours")
        if resource.get("mchid") != settings.mch_id:
            raise InvalidNotify("mch_id is not ours")

    # --- plumbing ---

    def _sub(self, sub_mchid: str | None) -> dict[str, str]:
        if not self.partner:
            return {}
        if not sub_mchid:
            raise PayConfigurationError("partner mode needs the merchant's sub_mchid")
        return {"sub_mchid": sub_mchid}

    def _call(self, op: str, ref: str, fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        """Run one wechatpayv3 call and turn every failure into a ``PaymentError``."""
        try:
            status, text = fn(**kwargs)
        except requests.RequestException as exc:
            logger.error("wechat pay v3 %s unreachable: ref=%s error=%s", op, ref, type(exc).__name__)
            raise PaymentError(f"{op}: {type(exc).__name__}") from exc
        except Exception as exc:  # wechatpayv3 raises bare Exception, e.g. for a bad answer signature
            logger.error("wechat pay v3 %s failed: ref=%s error=%s", op, ref, exc)
            raise PaymentError(f"{op}: {exc}") from exc
        data = _json(text)
        if 200 <= status < 300:
            return data if isinstance(data, dict) else {}
        wechat_code = str(data.get("code") or "") if isinstance(data, dict) else ""
        err_code = _ERR_CODE.get(wechat_code, wechat_code or None)
        if status >= 500:
            err_code = err_code or "SYSTEMERROR"
        message = data.get("message") if isinstance(data, dict) else None
        logger.warning("wechat pay v3 %s refused: ref=%s status=%s code=%s msg=%s", op, ref, status, wechat_code,
                       message)
        raise _ERROR_CLASS.get(err_code or "", PaymentError)(f"{op} refused: {message or status}", err_code=err_code)


def _json(text: Any) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _nonce() -> str:
    return secrets.token_hex(16)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidNotify(f"missing {name}")
    return value


def _amount(data: Mapping[str, Any], name: str) -> int:
    amount = data.get("amount")
    value = amount.get(name) if isinstance(amount, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidNotify(f"amount.{name} is not an integer")
    return value


def _time(value: Any, *, required: bool) -> datetime | None:
    if not value:
        if required:
            raise InvalidNotify("missing time")
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidNotify("malformed time") from exc
    if parsed.tzinfo is None:
        raise InvalidNotify("time without offset")
    return parsed


def _openid(data: Mapping[str, Any]) -> str | None:
    payer = data.get("payer")
    if not isinstance(payer, Mapping):
        return None
    return payer.get("sp_openid") or payer.get("openid") or None


def _refund_notice(data: Mapping[str, Any], *, status_field: str) -> RefundNotice:
    status = _REFUND_STATUS.get(str(data.get(status_field) or ""))
    if status is None:
        raise InvalidNotify(f"unknown {status_field}")
    return RefundNotice(
        out_refund_no=_text(data, "out_refund_no"),
        out_trade_no=_text(data, "out_trade_no"),
        refund_id=_text(data, "refund_id"),
        transaction_id=data.get("transaction_id") or None,
        refund_fee=_amount(data, "refund"),
        total_fee=_amount(data, "total"),
        refund_status=status,
        success_time=_time(data.get("success_time"), required=status == "SUCCESS"),
        sub_mchid=data.get("sub_mchid") or None,
    )
