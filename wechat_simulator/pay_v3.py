"""WeChat Pay API v3 in the simulator: signed JSON over the same order and refund records as v2.

As WeChat does, it verifies every merchant request (``Authorization: WECHATPAY2-SHA256-RSA2048 …``
over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``) with the merchant's public key (taken from
the merchant private key the app is configured with, as WeChat holds the merchant certificate), signs
every answer and notify with its own RSA key pair generated when it starts, and encrypts notify
resources with the app's APIv3 key (AES-256-GCM). It serves the WeChat Pay public key under its id
(public-key mode) and a self-signed platform certificate at ``/v3/certificates`` (certificate mode).

Paths under ``pay/`` (the app's ``WECHAT_PAY_BASE_URL``): ``v3/pay/transactions/jsapi`` and
``v3/pay/partner/transactions/jsapi``, query and close by out_trade_no (direct and partner),
``v3/refund/domestic/refunds`` (apply and query), ``v3/certificates``. Paying, resending notifies and
the delivery log are the shared simulator actions (``pay/simulate/…``, ``pay/_notifies/…``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from flask import Response, jsonify, request

from server.timeutil import SHANGHAI

if TYPE_CHECKING:
    from server.wechat.settings import WeChatSettings

WECHAT_TIME = "%Y%m%d%H%M%S"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
#: A request signed further than this from the simulator's clock is refused, as WeChat does.
REQUEST_TOLERANCE_SECONDS = 300
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_PAID_STATES = ("SUCCESS", "REFUND")
_TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "订单发生过退款"}
#: The shared simulator's refusals (v2 err_code) as v3 answers them: HTTP status and code.
_REFUSALS = {
    "ORDERNOTEXIST": (404, "ORDER_NOT_EXIST"),
    "ORDERPAID": (400, "ORDERPAID"),
    "ORDERCLOSED": (400, "ORDER_CLOSED"),
    "NOTENOUGH": (403, "NOT_ENOUGH"),
    "TRADE_STATE_ERROR": (400, "INVALID_REQUEST"),
    "INVALID_REQUEST": (400, "INVALID_REQUEST"),
}


class V3Keys:
    """The simulator's WeChat Pay key pair, its public key id and a self-signed platform certificate."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key_id = "PUB_KEY_ID_01" + secrets.token_hex(14).upper()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (simulator)")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.private_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .sign(self.private_key, hashes.SHA256())
        )
        self.cert_serial = format(self.certificate.serial_number, "X")

    def public_key_pem(self) -> str:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, message: str) -> str:
        signature = self.private_key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, body: str, serial: str, *, timestamp: int | None = None) -> dict[str, str]:
        """WeChat's signature headers over ``TIMESTAMP\\nNONCE\\nBODY\\n`` (tests forge notifies with it)."""
        stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Wechatpay-Signature": self.sign(f"{stamp}\n{nonce}\n{body}\n"),
        }


def encrypt(text: str, apiv3_key: str, associated_data: str) -> dict[str, str]:
    """AES-256-GCM under the APIv3 key, in WeChat's ``{algorithm, ciphertext, associated_data, nonce}``."""
    nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    ciphertext = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"), text.encode("utf-8"), associated_data.encode("utf-8")
    )
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            "associated_data": associated_data, "nonce": nonce}


def encrypt_resource(plain: Mapping[str, Any], apiv3_key: str, associated_data: str) -> dict[str, str]:
    """A notify ``resource``: the JSON encrypted under the APIv3 key."""
    return {**encrypt(json.dumps(plain, ensure_ascii=False), apiv3_key, associated_data),
            "original_type": associated_data}


def notify_body(event_type: str, resource: Mapping[str, Any], apiv3_key: str, associated_data: str) -> str:
    """The JSON body WeChat POSTs to a v3 notify_url."""
    return json.dumps({
        "id": str(uuid.uuid4()),
        "create_time": dt.datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功" if event_type == "TRANSACTION.SUCCESS" else "退款成功",
        "resource": encrypt_resource(resource, apiv3_key, associated_data),
    }, ensure_ascii=False)


@lru_cache(maxsize=8)
def _merchant_public_key(path: str, _mtime: float) -> Any:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    return key.public_key()


def _rfc3339(wechat_time: str | None) -> str | None:
    """A v2 record time (yyyyMMddHHmmss or yyyy-MM-dd HH:mm:ss, Beijing) as v3 writes it."""
    if not wechat_time:
        return None
    for fmt in (WECHAT_TIME, "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(wechat_time, fmt).replace(tzinfo=SHANGHAI).isoformat()
        except ValueError:
            continue
    return wechat_time


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify(code=code, message=message)
    response.status_code = status
    return response


class PayV3Simulator:
    """The v3 endpoints, on the shared simulator's records (``core``: the v2 ``_Simulator``)."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.keys = V3Keys()
        #: The merchant API certificate WeChat knows (public key, serial), registered by ``mount``;
        #: until then the app's configured key is taken as the merchant's.
        self.merchant: tuple[Any, str] | None = None

    def register_merchant(self, private_key_path: str, serial_no: str) -> None:
        """Remember the merchant's certificate, as WeChat does when it is uploaded to the merchant platform."""
        path = Path(private_key_path)
        self.merchant = (_merchant_public_key(str(path), path.stat().st_mtime), serial_no)

    def _merchant_identity(self) -> tuple[Any, str]:
        if self.merchant is not None:
            return self.merchant
        settings = self.settings
        path = Path(settings.mch_private_key_path or "")
        return _merchant_public_key(str(path), path.stat().st_mtime), settings.mch_cert_serial_no or ""

    @property
    def settings(self) -> WeChatSettings:
        return self.core.settings

    def routes(self) -> list[tuple[str, str, Callable[..., Any], list[str]]]:
        base = "/pay/v3"
        return [
            (f"{base}/pay/transactions/jsapi", "v3_jsapi", lambda: self.jsapi(partner=False), ["POST"]),
            (f"{base}/pay/partner/transactions/jsapi", "v3_partner_jsapi", lambda: self.jsapi(partner=True),
             ["POST"]),
            (f"{base}/pay/transactions/out-trade-no/<out_trade_no>", "v3_query",
             lambda out_trade_no: self.query(out_trade_no, partner=False), ["GET"]),
            (f"{base}/pay/partner/transactions/out-trade-no/<out_trade_no>", "v3_partner_query",
             lambda out_trade_no: self.query(out_trade_no, partner=True), ["GET"]),
            (f"{base}/pay/transactions/out-trade-no/<out_trade_no>/close", "v3_close",
             lambda out_trade_no: self.close(out_trade_no, partner=False), ["POST"]),
            (f"{base}/pay/partner/transactions/out-trade-no/<out_trade_no>/close", "v3_partner_close",
             lambda out_trade_no: self.close(out_trade_no, partner=True), ["POST"]),
            (f"{base}/refund/domestic/refunds", "v3_refund", self.refund, ["POST"]),
            (f"{base}/refund/domestic/refunds/<out_refund_no>", "v3_refund_query", self.query_refund, ["GET"]),
            (f"{base}/certificates", "v3_certificates", self.certificates, ["GET"]),
        ]

    # --- authentication and signed answers ---

    @property
    def serial(self) -> str:
        """What the app verifies answers with: the public key id, or the platform certificate's serial."""
        return self.keys.public_key_id if self.settings.pay_public_key_id else self.keys.cert_serial

    def _authenticate(self) -> dict[str, Any] | Response:
        """The request's JSON body once its merchant signature checks out, else WeChat's 401."""
        settings = self.settings
        scheme, _, rest = (request.headers.get("Authorization") or "").partition(" ")
        params = dict(_AUTH_PARAM.findall(rest))
        if scheme != SIGNATURE_TYPE or not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= set(params):
            return _error(401, "SIGN_ERROR", "Authorization头缺失或格式错误")
        if params["mchid"] != settings.mch_id:
            return _error(401, "SIGN_ERROR", "商户号与签名不匹配")
        try:
            public_key, serial_no = self._merchant_identity()
        except OSError:
            return _error(401, "SIGN_ERROR", "商户证书未配置")
        if params["serial_no"] != serial_no:
            return _error(401, "SIGN_ERROR", "商户证书序列号有误")
        if not params["timestamp"].isdigit() or abs(time.time() - int(params["timestamp"])) > REQUEST_TOLERANCE_SECONDS:
            return _error(401, "SIGN_ERROR", "请求时间戳过期")
        path = request.path[request.path.index("/v3/"):]
        query = request.query_string.decode("utf-8")
        body = request.get_data(as_text=True)
        message = f"{request.method}\n{path}{'?' + query if query else ''}\n{params['timestamp']}\n" \
                  f"{params['nonce_str']}\n{body}\n"
        try:
            public_key.verify(base64.b64decode(params["signature"]), message.encode("utf-8"),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return _error(401, "SIGN_ERROR", "签名错误")
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                return _error(400, "PARAM_ERROR", "请求体不是JSON")
            return payload if isinstance(payload, dict) else _error(400, "PARAM_ERROR", "请求体不是JSON对象")
        return {}

    def _answer(self, status: int, payload: Mapping[str, Any] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
        return Response(body, status=status, headers=self.keys.headers(body, self.serial),
                        mimetype="application/json")

    def _merchant(self, fields: Mapping[str, Any], *, partner: bool) -> Response | str:
        """Whose account the call is for; the sub_mchid in partner mode ("" directly)."""
        settings = self.settings
        if partner:
            if fields.get("sp_mchid") != settings.mch_id or not fields.get("sub_mchid"):
                return _error(400, "PARAM_ERROR", "sp_mchid或sub_mchid有误")
            return str(fields["sub_mchid"])
        if fields.get("mchid") != settings.mch_id:
            return _error(400, "PARAM_ERROR", "mchid有误")
        return ""

    def _refused(self, refusal: Any) -> Response:
        status, code = _REFUSALS.get(refusal.err_code, (400, refusal.err_code))
        return _error(status, code, refusal.description)

    # --- orders ---

    def jsapi(self, *, partner: bool) -> Response:
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        sub_mchid = self._merchant(fields, partner=partner)
        if isinstance(sub_mchid, Response):
            return sub_mchid
        appid = fields.get("sp_appid" if partner else "appid")
        if appid != self.settings.appid:
            return _error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        problem = _check_order(fields, partner=partner)
        if problem:
            return _error(400, "PARAM_ERROR", problem)
        payer = fields["payer"]
        expire = fields.get("time_expire")
        new_order = {
            "api": "v3",
            "out_trade_no": fields["out_trade_no"],
            "body": fields["description"],
            "attach": fields.get("attach", ""),
            "total_fee": fields["amount"]["total"],
            "openid": payer.get("sp_openid") or payer.get("openid"),
            "notify_url": fields["notify_url"],
            "trade_type": "JSAPI",
            "time_expire": dt.datetime.fromisoformat(expire).astimezone(SHANGHAI).strftime(WECHAT_TIME)
            if expire else "",
            "sign_type": "RSA",
            "prepay_id": "wx" + dt.datetime.now(SHANGHAI).strftime(WECHAT_TIME) + secrets.token_hex(10),
            "trade_state": "NOTPAY",
            "refunded_fee": 0,
            "sub_mchid": sub_mchid,
        }
        result = self.core.place_order(new_order)
        if hasattr(result, "err_code"):
            return self._refused(result)
        return self._answer(200, {"prepay_id": result["prepay_id"]})

    def _order_for(self, out_trade_no: str, sub_mchid: str) -> dict[str, Any] | None:
        order = self.core.store.get("order", out_trade_no)
        if order is None or (order.get("sub_mchid") or "") != sub_mchid:
            return None  # another sub-merchant's order does not exist for this one
        return order

    def query(self, out_trade_no: str, *, partner: bool) -> Response:
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        sub_mchid = self._merchant(request.args, partner=partner)
        if isinstance(sub_mchid, Response):
            return sub_mchid
        order = self._order_for(out_trade_no, sub_mchid)
        if order is None:
            return _error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(200, self.transaction(order))

    def close(self, out_trade_no: str, *, partner: bool) -> Response:
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        sub_mchid = self._merchant(fields, partner=partner)
        if isinstance(sub_mchid, Response):
            return sub_mchid
        if self._order_for(out_trade_no, sub_mchid) is None:
            return _error(404, "ORDER_NOT_EXIST", "订单不存在")
        refusal = self.core.close_order(out_trade_no)
        if refusal is not None and refusal.err_code != "ORDERCLOSED":  # closing twice is fine in v3
            return self._refused(refusal)
        return self._answer(204)

    def transaction(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """The order as v3 describes it (query answers and the payment notify resource)."""
        settings = self.settings
        if order.get("sub_mchid"):
            answer: dict[str, Any] = {"sp_appid": settings.appid, "sp_mchid": settings.mch_id,
                                      "sub_mchid": order["sub_mchid"], "payer": {"sp_openid": order["openid"]}}
        else:
            answer = {"appid": settings.appid, "mchid": settings.mch_id, "payer": {"openid": order["openid"]}}
        answer.update({
            "out_trade_no": order["out_trade_no"],
            "trade_type": order["trade_type"],
            "trade_state": order["trade_state"],
            "trade_state_desc": _TRADE_STATE_DESC[order["trade_state"]],
            "attach": order.get("attach", ""),
            "amount": {"total": order["total_fee"], "currency": "CNY"},
        })
        if order["trade_state"] in _PAID_STATES:
            answer.update({"transaction_id": order["transaction_id"], "bank_type": "OTHERS",
                           "success_time": _rfc3339(order.get("time_end"))})
            answer["amount"].update(payer_total=order["total_fee"], payer_currency="CNY")
        return answer

    # --- refunds ---

    def refund(self) -> Response:
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        amount = fields.get("amount") if isinstance(fields.get("amount"), dict) else {}
        out_refund_no = fields.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not _OUT_REFUND_NO.fullmatch(out_refund_no):
            return _error(400, "PARAM_ERROR", "out_refund_no格式错误")
        if not all(isinstance(amount.get(k), int) and amount[k] >= 1 for k in ("refund", "total")):
            return _error(400, "PARAM_ERROR", "金额格式错误")
        out_trade_no = fields.get("out_trade_no")
        if not out_trade_no and fields.get("transaction_id"):
            out_trade_no = self.core.store.id_owner("txn", fields["transaction_id"])
        order = self._order_for(str(out_trade_no or ""), str(fields.get("sub_mchid") or ""))
        if order is None:
            return _error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        result = self.core.apply_refund(order, out_refund_no, amount["total"], amount["refund"],
                                        fields.get("notify_url") or "")
        if hasattr(result, "err_code"):
            return self._refused(result)
        return self._answer(200, self.refund_record(order, result, status_field="status"))

    def query_refund(self, out_refund_no: str) -> Response:
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        refund = self.core.store.get("refund", out_refund_no)
        order = self._order_for(refund["out_trade_no"], request.args.get("sub_mchid", "")) if refund else None
        if refund is None or order is None:
            return _error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._answer(200, self.refund_record(order, refund, status_field="status"))

    def refund_record(self, order: Mapping[str, Any], refund: Mapping[str, Any], *, status_field: str
                      ) -> dict[str, Any]:
        """A refund as v3 describes it: ``status`` in answers, ``refund_status`` in notifies."""
        settings = self.settings
        record: dict[str, Any] = {"sp_mchid": settings.mch_id, "sub_mchid": order["sub_mchid"]} \
            if order.get("sub_mchid") else {"mchid": settings.mch_id}
        record.update({
            "out_trade_no": order["out_trade_no"],
            "transaction_id": order.get("transaction_id", ""),
            "out_refund_no": refund["out_refund_no"],
            "refund_id": refund["refund_id"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": refund.get("created_at") or dt.datetime.now(SHANGHAI).isoformat(timespec="seconds"),
            status_field: refund["refund_status"],
            "amount": {"total": refund["total_fee"], "refund": refund["refund_fee"],
                       "payer_total": refund["total_fee"], "payer_refund": refund["refund_fee"], "currency": "CNY"},
        })
        if refund.get("success_time"):
            record["success_time"] = _rfc3339(refund["success_time"])
        return record

    def certificates(self) -> Response:
        """The platform certificate list (certificate mode), each encrypted with the APIv3 key."""
        fields = self._authenticate()
        if isinstance(fields, Response):
            return fields
        cert = self.keys.certificate
        return self._answer(200, {"data": [{
            "serial_no": self.keys.cert_serial,
            "effective_time": cert.not_valid_before_utc.isoformat(),
            "expire_time": cert.not_valid_after_utc.isoformat(),
            "encrypt_certificate": encrypt(self.keys.certificate_pem(), self.settings.apiv3_key, "certificate"),
        }]})

    # --- notifies ---

    def send_payment_notify(self, order: Mapping[str, Any]) -> None:
        body = notify_body("TRANSACTION.SUCCESS", self.transaction(order), self.settings.apiv3_key, "transaction")
        self.core._deliver(order["out_trade_no"], order["notify_url"], body, sign=self._signer())

    def send_refund_notify(self, order: Mapping[str, Any], refund: Mapping[str, Any]) -> None:
        resource = self.refund_record(order, refund, status_field="refund_status")
        body = notify_body("REFUND.SUCCESS", resource, self.settings.apiv3_key, "refund")
        self.core._deliver(refund["out_refund_no"], refund["notify_url"], body, sign=self._signer())

    def _signer(self) -> Callable[[str], dict[str, str]]:
        """Fresh signature headers per delivery attempt (run outside the request: serial read now)."""
        serial = self.serial
        return lambda body: self.keys.headers(body, serial)


def _check_order(fields: Mapping[str, Any], *, partner: bool) -> str | None:
    """What WeChat's v3 JSAPI order would reject, in its words; None when acceptable."""
    if not isinstance(fields.get("out_trade_no"), str) or not _OUT_TRADE_NO.fullmatch(fields["out_trade_no"]):
        return "out_trade_no参数格式错误"
    amount = fields.get("amount")
    if not isinstance(amount, dict) or not isinstance(amount.get("total"), int) or amount["total"] < 1:
        return "amount.total参数格式错误"
    if not isinstance(fields.get("description"), str) or not 1 <= len(fields["description"]) <= 127:
        return "description参数长度有误"
    payer = fields.get("payer")
    if not isinstance(payer, dict) or not payer.get("sp_openid" if partner else "openid"):
        return "JSAPI支付必须传openid"
    if len(str(fields.get("attach") or "")) > 128:
        return "attach参数长度有误"
    url = fields.get("notify_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or "?" in url:
        return "notify_url参数格式错误"
    if fields.get("time_expire"):
        try:
            expire = dt.datetime.fromisoformat(fields["time_expire"])
        except (TypeError, ValueError):
            return "time_expire参数格式错误"
        if expire.tzinfo is None or expire - dt.datetime.now(SHANGHAI) < dt.timedelta(minutes=1):
            return "time_expire时间过短，最短失效时间间隔必须大于1分钟"
    return None
