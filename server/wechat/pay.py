"""Payment gateway: the one door to WeChat Pay for orders, notifies, queries, closes and refunds.

Callers depend on ``PaymentGateway`` only; ``WECHAT_PAY_VERSION`` picks ``WeChatPayV2Gateway`` (here)
or ``WeChatPayV3Gateway`` (``pay_v3``, wechatpayv3). The v2 gateway runs on ``wechatpy.pay.WeChatPay``
with MD5 signatures (wechatpy's own notify check only knows MD5) and checks every signature it
receives in constant time; in partner mode it keeps one wechatpy client per sub-merchant
(``sub_mch_id``).
"""

from __future__ import annotations

import abc
import hmac
import json
import logging
import os
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import xmltodict
from wechatpy.crypto import WeChatRefundCrypto
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature

from server.timeutil import SHANGHAI
from server.wechat.errors import (
    InvalidNotify,
    OrderAlreadyPaid,
    OrderNotExist,
    PayConfigurationError,
    PaymentError,
)
from server.wechat.settings import WeChatSettings

logger = logging.getLogger(__name__)

# wechatpy logs the string it signs (which ends with "key=<API key>") and whole signed request
# bodies at DEBUG; keep its pay loggers above DEBUG so the API key can never reach a log.
logging.getLogger("wechatpy.pay").setLevel(logging.INFO)

# China has no DST: a fixed +08:00 is exact and needs no tz database.

_ALNUM = string.ascii_letters + string.digits
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z]{1,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z]{1,64}")
_PREFIX = re.compile(r"[0-9A-Za-z]{0,8}")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")
_MAX_NOTIFY_BYTES = 64 * 1024
_BODY_MAX_BYTES = 128
_ATTACH_MAX_BYTES = 127
_REFUND_DESC_MAX_CHARS = 80


def new_out_trade_no(prefix: str = "") -> str:
    """A unique merchant order/refund number: ``prefix`` + Shanghai time + random, 32 alphanumerics.

    ``prefix`` (≤ 8 alphanumerics) tells order kinds apart in the merchant console; at least 10
    random characters (≈ 59 bits) keep numbers generated in the same second apart.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("prefix must be at most 8 ASCII letters or digits")
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
    return prefix + stamp + "".join(secrets.choice(_ALNUM) for _ in range(32 - len(prefix) - len(stamp)))


@dataclass(frozen=True)
class PaymentNotice:
    """A verified payment result (from a notify or an order query): the one input of settlement.

    Signature, appid and mch_id are already checked; the caller still compares ``total_fee`` with
    its order and only settles when ``paid``.
    """

    out_trade_no: str
    transaction_id: str | None
    total_fee: int
    appid: str
    mch_id: str
    result_code: str
    openid: str | None
    attach: str | None
    time_end: datetime | None
    #: Partner mode: the sub-merchant the payment went to (checked against the order's).
    sub_mchid: str | None = None

    @property
    def paid(self) -> bool:
        return self.result_code == "SUCCESS"


@dataclass(frozen=True)
class OrderQueryResult:
    """``orderquery`` answer.

    ``trade_state``: SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING or PAYERROR.
    """

    out_trade_no: str
    trade_state: str
    trade_state_desc: str | None
    transaction_id: str | None
    total_fee: int | None
    appid: str
    mch_id: str
    openid: str | None
    attach: str | None
    time_end: datetime | None
    sub_mchid: str | None = None

    @property
    def paid(self) -> bool:
        return self.trade_state == "SUCCESS"

    def to_notice(self) -> PaymentNotice:
        """The same ``PaymentNotice`` a notify would carry, so reconciliation settles like a notify."""
        if not self.paid or self.transaction_id is None or self.total_fee is None:
            raise ValueError(f"order {self.out_trade_no} is not paid (trade_state={self.trade_state})")
        return PaymentNotice(
            out_trade_no=self.out_trade_no,
            transaction_id=self.transaction_id,
            total_fee=self.total_fee,
            appid=self.appid,
            mch_id=self.mch_id,
            result_code="SUCCESS",
            openid=self.openid,
            attach=self.attach,
            time_end=self.time_end,
            sub_mchid=self.sub_mchid,
        )


@dataclass(frozen=True)
class RefundResult:
    """WeChat accepted the refund; the final outcome arrives later as a ``RefundNotice``."""

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str | None
    refund_fee: int
    total_fee: int


@dataclass(frozen=True)
class RefundNotice:
    """A decrypted refund notify. ``refund_status``: SUCCESS, CHANGE (failed) or REFUNDCLOSE."""

    out_refund_no: str
    out_trade_no: str
    refund_id: str
    transaction_id: str | None
    refund_fee: int
    total_fee: int
    refund_status: str
    success_time: datetime | None
    sub_mchid: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.refund_status == "SUCCESS"


class V2NotifyReplies:
    """How a v2 notify is answered: HTTP 200 with SUCCESS or FAIL XML."""

    #: Content type of ``reply_success``/``reply_fail`` bodies.
    reply_mimetype: str = "text/xml"
    reply_success_status: int = 200
    reply_fail_status: int = 200

    def reply_success(self) -> str:
        return _reply_xml("SUCCESS", "OK")

    def reply_fail(self, message: str) -> str:
        return _reply_xml("FAIL", message)


class V3NotifyReplies:
    """How a v3 notify is answered: 204 without a body, or 4xx ``{"code": "FAIL", "message": …}``."""

    reply_mimetype: str = "application/json"
    reply_success_status: int = 204
    reply_fail_status: int = 400

    def reply_success(self) -> str:
        return ""

    def reply_fail(self, message: str) -> str:
        return json.dumps({"code": "FAIL", "message": (message or "")[:128]}, ensure_ascii=False)


class PaymentGateway(abc.ABC):
    """What the payments domain needs from a payment provider.

    ``headers`` on the notify parsers is unused by v2 but needed by v3 (its signature travels in
    headers). ``sub_mchid`` names the sub-merchant in partner mode (``partner``); direct mode
    ignores it. ``version`` tells which notify endpoints the gateway answers.
    """

    #: "v2" or "v3".
    version: str = "v2"
    #: Service-provider (服务商) mode: every order, query and refund names a sub-merchant.
    partner: bool = False
    reply_mimetype: str = "text/xml"
    reply_success_status: int = 200
    reply_fail_status: int = 200

    #: Where WeChat Pay is told to send this gateway's payment and refund notifies.
    pay_notify_url: str
    refund_notify_url: str

    @abc.abstractmethod
    def create_order(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        openid: str,
        client_ip: str,
        notify_url: str,
        attach: str,
        expire_at: datetime,
        sub_mchid: str | None = None,
    ) -> str:
        """Create a JSAPI order and return its ``prepay_id``."""

    @abc.abstractmethod
    def pay_params(self, prepay_id: str) -> dict[str, str]:
        """Signed ``wx.requestPayment`` arguments: timeStamp, nonceStr, package, signType, paySign."""

    @abc.abstractmethod
    def parse_payment_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> PaymentNotice:
        """Verify and parse a payment notify; raise ``InvalidNotify`` for anything untrustworthy."""

    @abc.abstractmethod
    def query_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> OrderQueryResult:
        """Ask WeChat for the order's state; raises ``OrderNotExist`` if WeChat never saw it."""

    @abc.abstractmethod
    def close_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> None:
        """Close an unpaid order (idempotent); raises ``OrderAlreadyPaid`` if it was paid meanwhile."""

    @abc.abstractmethod
    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        notify_url: str,
        reason: str,
        sub_mchid: str | None = None,
    ) -> RefundResult:
        """Request a refund; the same ``out_refund_no`` again does not refund twice."""

    @abc.abstractmethod
    def query_refund(self, out_refund_no: str, *, sub_mchid: str | None = None) -> RefundNotice:
        """Ask WeChat for a refund's state, as the ``RefundNotice`` its notify would carry, so a lost
        notify is settled the same way; ``refund_status`` may also be PROCESSING (not final yet)."""

    @abc.abstractmethod
    def parse_refund_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> RefundNotice:
        """Verify/decrypt a refund notify; raise ``InvalidNotify`` for anything untrustworthy."""

    @abc.abstractmethod
    def reply_success(self) -> str:
        """Body that tells WeChat the notify was processed (also for repeats)."""

    @abc.abstractmethod
    def reply_fail(self, message: str) -> str:
        """Body that tells WeChat the notify was refused."""


def refund_result(data: Mapping[str, Any], *, out_refund_no: str, out_trade_no: str, refund_fee: Any,
                  total_fee: Any) -> RefundResult:
    """WeChat's answer to a refund request (either version) as a ``RefundResult``; an answer without
    ``refund_id`` or with amounts that are not numbers is a ``PaymentError``."""
    try:
        return RefundResult(
            out_refund_no=str(data.get("out_refund_no") or out_refund_no),
            refund_id=str(data["refund_id"]),
            out_trade_no=str(data.get("out_trade_no") or out_trade_no),
            transaction_id=data.get("transaction_id") or None,
            refund_fee=int(refund_fee),
            total_fee=int(total_fee),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentError("refund answered without refund_id or with bad amounts") from exc


class WeChatPayV2Gateway(V2NotifyReplies, PaymentGateway):
    """WeChat Pay v2 (XML, MD5) through wechatpy, with the base URL taken from settings."""

    def __init__(self, settings: WeChatSettings) -> None:
        _check_cert_files(settings, required=False)
        self._settings = settings
        self.pay_notify_url = settings.pay_notify_url
        self.refund_notify_url = settings.refund_notify_url
        self.partner = settings.pay_mode == "partner"
        self._sub_clients: dict[str, WeChatPay] = {}
        #: The direct-mode client; in partner mode only used for what needs no sub-merchant (paySign).
        self._pay = self._new_client(None)

    def _new_client(self, sub_mch_id: str | None) -> WeChatPay:
        settings = self._settings
        client = WeChatPay(appid=settings.appid, api_key=settings.pay_key, mch_id=settings.mch_id,
                           sub_mch_id=sub_mch_id, mch_cert=settings.pay_cert_path, mch_key=settings.pay_key_path,
                           timeout=settings.timeout)
        client.API_BASE_URL = settings.pay_base_url
        return client

    def _client(self, sub_mchid: str | None) -> WeChatPay:
        """wechatpy's client; in partner mode one per sub-merchant (wechatpy sends its ``sub_mch_id``)."""
        if not self.partner:
            return self._pay
        if not sub_mchid:
            raise PayConfigurationError("partner mode needs the merchant's sub_mchid")
        client = self._sub_clients.get(sub_mchid)
        if client is None:
            client = self._sub_clients.setdefault(sub_mchid, self._new_client(sub_mchid))
        return client

    def create_order(
        self,
        *,
        out_trade_no: str,
        amount_fen: int,
        description: str,
        openid: str,
        client_ip: str,
        notify_url: str,
        attach: str,
        expire_at: datetime,
        sub_mchid: str | None = None,
    ) -> str:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        _check_fen(amount_fen, "amount_fen")
        if not openid or not client_ip or not notify_url:
            raise ValueError("openid, client_ip and notify_url are required")
        if expire_at.tzinfo is None:
            raise ValueError("expire_at must be timezone-aware")
        if attach and len(attach.encode("utf-8")) > _ATTACH_MAX_BYTES:
            raise ValueError(f"attach is limited to {_ATTACH_MAX_BYTES} bytes")
        data = self._call(
            "unifiedorder",
            out_trade_no,
            self._client(sub_mchid).order.create,
            trade_type="JSAPI",
            body=_truncate_utf8(description, _BODY_MAX_BYTES),
            total_fee=amount_fen,
            notify_url=notify_url,
            client_ip=client_ip,
            user_id=openid,
            out_trade_no=out_trade_no,
            attach=attach or None,
            time_start=datetime.now(SHANGHAI),
            time_expire=expire_at.astimezone(SHANGHAI),
            sign_type="MD5",
        )
        prepay_id = data.get("prepay_id")
        if not prepay_id:
            raise PaymentError("unifiedorder answered without prepay_id")
        return str(prepay_id)

    def pay_params(self, prepay_id: str) -> dict[str, str]:
        if not prepay_id:
            raise ValueError("prepay_id is required")
        params = self._pay.jsapi.get_jsapi_params(prepay_id)
        # appId is part of the signed string but wx.requestPayment does not take it.
        params.pop("appId")
        return params

    def parse_payment_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> PaymentNotice:
        data = _parse_flat_xml(body)
        self._verify_signature(data)
        if data.get("return_code") != "SUCCESS":
            raise InvalidNotify("return_code is not SUCCESS")
        self._check_merchant(data)
        result_code = _required(data, "result_code")
        paid = result_code == "SUCCESS"
        return PaymentNotice(
            out_trade_no=_required(data, "out_trade_no"),
            transaction_id=_required(data, "transaction_id") if paid else data.get("transaction_id") or None,
            total_fee=_notify_int(data, "total_fee"),
            appid=data["appid"],
            mch_id=data["mch_id"],
            result_code=result_code,
            openid=data.get("openid") or None,
            attach=data.get("attach") or None,
            time_end=_notify_time(data.get("time_end"), required=paid),
            sub_mchid=data.get("sub_mch_id") or None,
        )

    def query_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> OrderQueryResult:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        data = self._call("orderquery", out_trade_no, self._client(sub_mchid).order.query, out_trade_no=out_trade_no)
        trade_state = data.get("trade_state")
        if not trade_state:
            raise PaymentError("orderquery answered without trade_state")
        paid = trade_state == "SUCCESS"
        try:
            total_fee = int(data["total_fee"]) if data.get("total_fee") else None
            time_end = _parse_time(data.get("time_end"), "%Y%m%d%H%M%S") if data.get("time_end") else None
        except ValueError as exc:
            raise PaymentError("orderquery answered malformed total_fee/time_end") from exc
        if paid and (not data.get("transaction_id") or total_fee is None):
            raise PaymentError("orderquery SUCCESS without transaction_id/total_fee")
        return OrderQueryResult(
            out_trade_no=str(data.get("out_trade_no") or out_trade_no),
            trade_state=str(trade_state),
            trade_state_desc=data.get("trade_state_desc") or None,
            transaction_id=data.get("transaction_id") or None,
            total_fee=total_fee,
            appid=str(data["appid"]),
            mch_id=str(data["mch_id"]),
            openid=data.get("openid") or None,
            attach=data.get("attach") or None,
            time_end=time_end,
            sub_mchid=data.get("sub_mch_id") or None,
        )

    def close_order(self, out_trade_no: str, *, sub_mchid: str | None = None) -> None:
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        try:
            self._call("closeorder", out_trade_no, self._client(sub_mchid).order.close, out_trade_no)
        except PaymentError as exc:
            if exc.err_code != "ORDERCLOSED":
                raise

    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        notify_url: str,
        reason: str,
        sub_mchid: str | None = None,
    ) -> RefundResult:
        _check_cert_files(self._settings, required=True)
        _check_number(_OUT_TRADE_NO, out_trade_no, "out_trade_no")
        _check_number(_OUT_REFUND_NO, out_refund_no, "out_refund_no")
        _check_fen(total_fen, "total_fen")
        _check_fen(refund_fen, "refund_fen")
        if refund_fen > total_fen:
            raise ValueError("refund_fen exceeds total_fen")
        data = self._call(
            "refund",
            out_refund_no,
            self._client(sub_mchid).refund.apply,
            total_fee=total_fen,
            refund_fee=refund_fen,
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            notify_url=notify_url,
            refund_desc=(reason or "")[:_REFUND_DESC_MAX_CHARS] or None,
            # None leaves the fund source to WeChat; wechatpy's default only suits old-flow merchants.
            refund_account=None,
        )
        return refund_result(data, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                             refund_fee=data.get("refund_fee") or refund_fen,
                             total_fee=data.get("total_fee") or total_fen)

    def query_refund(self, out_refund_no: str, *, sub_mchid: str | None = None) -> RefundNotice:
        _check_number(_OUT_REFUND_NO, out_refund_no, "out_refund_no")
        data = self._call("refundquery", out_refund_no, self._client(sub_mchid).refund.query,
                          out_refund_no=out_refund_no)
        # The answer lists the order's refunds as field_0, field_1…; asked by out_refund_no it is ours.
        for n in range(int(data.get("refund_count") or 0)):
            if data.get(f"out_refund_no_{n}") != out_refund_no:
                continue
            try:
                status = str(data[f"refund_status_{n}"])
                return RefundNotice(
                    out_refund_no=out_refund_no,
                    out_trade_no=str(data["out_trade_no"]),
                    refund_id=str(data[f"refund_id_{n}"]),
                    transaction_id=data.get("transaction_id") or None,
                    refund_fee=int(data[f"refund_fee_{n}"]),
                    total_fee=int(data["total_fee"]),
                    refund_status=status,
                    success_time=_notify_time(data.get(f"refund_success_time_{n}"), required=status == "SUCCESS",
                                              fmt="%Y-%m-%d %H:%M:%S"),
                    sub_mchid=data.get("sub_mch_id") or None,
                )
            except (KeyError, ValueError, InvalidNotify) as exc:
                raise PaymentError("refundquery answered without the refund's fields") from exc
        raise PaymentError("refundquery answered without the refund asked about")

    def parse_refund_notify(self, body: bytes, headers: Mapping[str, str] | None = None) -> RefundNotice:
        data = _parse_flat_xml(body)
        if data.get("return_code") != "SUCCESS":
            raise InvalidNotify("return_code is not SUCCESS")
        self._check_merchant(data)
        _required(data, "req_info")
        try:
            # AES-256-ECB with md5(api key): only WeChat can produce a req_info that decrypts to XML.
            inner = WeChatRefundCrypto(self._settings.pay_key).decrypt_message(
                data, self._settings.appid, self._settings.mch_id
            )
        except Exception as exc:  # any failure to decrypt or parse means the notify is not WeChat's
            raise InvalidNotify("req_info cannot be decrypted") from exc
        info = _flat_fields(inner, "req_info")
        status = _required(info, "refund_status")
        return RefundNotice(
            out_refund_no=_required(info, "out_refund_no"),
            out_trade_no=_required(info, "out_trade_no"),
            refund_id=_required(info, "refund_id"),
            transaction_id=info.get("transaction_id") or None,
            refund_fee=_notify_int(info, "refund_fee"),
            total_fee=_notify_int(info, "total_fee"),
            refund_status=status,
            success_time=_notify_time(
                info.get("success_time"), required=status == "SUCCESS", fmt="%Y-%m-%d %H:%M:%S"
            ),
            sub_mchid=data.get("sub_mch_id") or None,
        )

    def _call(self, op: str, ref: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one wechatpy call and turn every failure into a ``PaymentError``."""
        try:
            data = fn(*args, **kwargs)
        except WeChatPayException as exc:
            err_code = str(exc.errcode) if exc.errcode else None
            logger.warning(
                "wechat pay %s refused: ref=%s return_code=%s result_code=%s err_code=%s msg=%s",
                op,
                ref,
                exc.return_code,
                exc.result_code,
                err_code,
                exc.return_msg or exc.errmsg,
            )
            error_class = {"ORDERNOTEXIST": OrderNotExist, "ORDERPAID": OrderAlreadyPaid}.get(
                err_code or "", PaymentError
            )
            raise error_class(f"{op} refused: {exc.return_msg or exc.errmsg}", err_code=err_code) from exc
        except requests.RequestException as exc:
            logger.error("wechat pay %s unreachable: ref=%s error=%s", op, ref, type(exc).__name__)
            raise PaymentError(f"{op}: {type(exc).__name__}") from exc
        except (KeyError, TypeError) as exc:  # wechatpy indexes the XML without checking it
            logger.error("wechat pay %s answered malformed XML: ref=%s", op, ref)
            raise PaymentError(f"{op}: malformed response") from exc
        if not isinstance(data, Mapping):  # wechatpy returns the raw text when it is not XML
            logger.error("wechat pay %s answered non-XML: ref=%s", op, ref)
            raise PaymentError(f"{op}: response is not XML")
        if not self._signature_ok(data):
            logger.error("wechat pay %s answered with a bad signature: ref=%s", op, ref)
            raise PaymentError(f"{op}: response signature is invalid")
        return dict(data)

    def _signature_ok(self, data: Mapping[str, Any]) -> bool:
        sign = data.get("sign")
        if not isinstance(sign, str) or not sign:
            return False
        expected = calculate_signature({k: v for k, v in data.items() if k != "sign"}, self._settings.pay_key)
        return hmac.compare_digest(expected.encode("ascii"), sign.encode("utf-8"))

    def _verify_signature(self, data: Mapping[str, str]) -> None:
        if not data.get("sign"):
            raise InvalidNotify("missing signature")
        if data.get("sign_type", "MD5") not in ("", "MD5"):
            raise InvalidNotify("unsupported sign_type")
        if not self._signature_ok(data):
            raise InvalidNotify("bad signature")

    def _check_merchant(self, data: Mapping[str, str]) -> None:
        if data.get("appid") != self._settings.appid:
            raise InvalidNotify("appid is not ours")
        if data.get("mch_id") != self._settings.mch_id:
            raise InvalidNotify("mch_id is not ours")
        if self.partner and not data.get("sub_mch_id"):
            raise InvalidNotify("missing sub_mchid")


def _check_cert_files(settings: WeChatSettings, *, required: bool) -> None:
    """Fail with a clear message: requests only says "Could not find the TLS certificate file"."""
    cert, key = settings.pay_cert_path, settings.pay_key_path
    if not cert and not key:
        if required:
            raise PayConfigurationError(
                "refunds need the merchant certificate: "
                "set WECHAT_PAY_CERT_PATH and WECHAT_PAY_KEY_PATH (PEM files)"
            )
        return
    if not cert or not key:
        raise PayConfigurationError("WECHAT_PAY_CERT_PATH and WECHAT_PAY_KEY_PATH must be set together")
    for name, path in (("WECHAT_PAY_CERT_PATH", cert), ("WECHAT_PAY_KEY_PATH", key)):
        if not os.path.isfile(path):
            raise PayConfigurationError(f"{name} does not point to a file: {path}")


def _check_number(pattern: re.Pattern[str], value: str, name: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} must match {pattern.pattern}")


def _check_fen(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer (fen)")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """WeChat rejects a ``body`` over 128 bytes; cut on a character boundary instead of failing."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _parse_flat_xml(body: bytes) -> dict[str, str]:
    """Parse a notify body into ``{field: text}``; anything else is not a WeChat notify."""
    if not body or not body.strip():
        raise InvalidNotify("empty body")
    if len(body) > _MAX_NOTIFY_BYTES:
        raise InvalidNotify("body too large")
    try:
        document = xmltodict.parse(body)
    except Exception as exc:  # any parser failure means garbage, which must never become a 500
        raise InvalidNotify("body is not XML") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("xml"), Mapping):
        raise InvalidNotify("root element is not <xml>")
    return _flat_fields(document["xml"], "xml")


def _flat_fields(element: Any, where: str) -> dict[str, str]:
    if not isinstance(element, Mapping):
        raise InvalidNotify(f"<{where}> has no fields")
    fields: dict[str, str] = {}
    for key, value in element.items():
        if not _FIELD_NAME.fullmatch(key) or not (value is None or isinstance(value, str)):
            raise InvalidNotify(f"unexpected structure in <{where}>")
        fields[key] = value or ""
    return fields


def _required(data: Mapping[str, str], name: str) -> str:
    value = data.get(name)
    if not value:
        raise InvalidNotify(f"missing {name}")
    return value


def _notify_int(data: Mapping[str, str], name: str) -> int:
    value = _required(data, name)
    if not value.isdigit():
        raise InvalidNotify(f"{name} is not an integer")
    return int(value)


def _notify_time(value: str | None, *, required: bool, fmt: str = "%Y%m%d%H%M%S") -> datetime | None:
    if not value:
        if required:
            raise InvalidNotify("missing time")
        return None
    try:
        return _parse_time(value, fmt)
    except ValueError as exc:
        raise InvalidNotify("malformed time") from exc


def _parse_time(value: str, fmt: str) -> datetime:
    """WeChat times carry no offset; they are Beijing time."""
    return datetime.strptime(value, fmt).replace(tzinfo=SHANGHAI)


def _reply_xml(code: str, message: str) -> str:
    text = (message or "").replace("]]>", "")[:128]
    return (
        f"<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{text}]]></return_msg></xml>"
    )
