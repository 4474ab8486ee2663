"""The simulator's HTTP surface: WeChat's API paths under ``api/`` and WeChat Pay's under ``pay/``.

It answers like WeChat (same paths, JSON errcodes, signed XML, notifies with retries) so the
production code paths run unchanged against it. State lives in Redis (see ``store``).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import Blueprint, Response, abort, jsonify, render_template, request

from server.timeutil import SHANGHAI
from server.wechat.settings import WeChatSettings
from wechat_simulator import identities
from wechat_simulator.card import CardSimulator
from wechat_simulator.delivery import DEFAULT_NOTIFY_DELAYS, deliver_in_background
from wechat_simulator.pay_v3 import PayV3Simulator
from wechat_simulator.signing import SIGN_TYPES, encrypt_req_info, parse_xml, sign, signed_xml, to_xml
from wechat_simulator.store import SimStore

logger = logging.getLogger(__name__)

URL_PREFIX = "/wechat-sim"
TOKEN_TTL = 7200
WECHAT_TIME = "%Y%m%d%H%M%S"
MIN_EXPIRY = timedelta(minutes=1)

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_FORCED_SEND_ERROR = re.compile(r"fail-(-?\d{1,6})")
_SEND_ERRMSG = {
    40003: "invalid openid",
    40037: "invalid template_id",
    41030: "invalid page",
    43101: "user refuse to accept the msg",
    47003: "argument invalid!",
}
# Value length limits by field kind (the part of the key before its number), as WeChat enforces.
_FIELD_LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phrase": 5,
    "name": 10,
    "amount": 32,
    "time": 64,
    "date": 64,
    "car_number": 8,
    "phone_number": 17,
}
_TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "订单发生过退款",
}
_PAID_STATES = ("SUCCESS", "REFUND")


def refuse_production(config: Mapping[str, Any]) -> None:
    """The simulator accepts any payment: it must never run where real money moves."""
    if str(config.get("APP_ENV") or "").strip().lower() == "production":
        raise RuntimeError("the WeChat simulator must not be mounted when APP_ENV=production")


def create_simulator_blueprint(
    settings_getter: Callable[[], WeChatSettings],
    redis_getter: Callable[[], Any],
    *,
    notify_delays: Sequence[float] = DEFAULT_NOTIFY_DELAYS,
) -> Blueprint:
    """The simulator blueprint; mount it with ``url_prefix=URL_PREFIX``.

    ``settings_getter`` gives the app's own WeChat settings (the simulator is that app's WeChat, so
    it checks appid, secret and API key against them) and ``redis_getter`` its Redis client; both
    are called inside each request. ``notify_delays`` is the retry schedule after the first attempt.
    Refused (RuntimeError) when APP_ENV=production, both in the environment and the app's config.
    """
    refuse_production(os.environ)
    simulator = _Simulator(settings_getter, redis_getter, tuple(notify_delays))
    bp = Blueprint("wechat_sim", __name__, template_folder="templates")
    bp.record_once(lambda state: refuse_production(state.app.config))
    routes: list[tuple[str, str, Callable[..., Any], list[str]]] = [
        ("/api/cgi-bin/token", "token", simulator.token, ["GET"]),
        ("/api/sns/jscode2session", "jscode2session", simulator.jscode2session, ["GET"]),
        ("/api/cgi-bin/message/subscribe/send", "subscribe_send", simulator.subscribe_send, ["POST"]),
        ("/api/_messages", "messages", simulator.messages, ["GET", "DELETE"]),
        ("/pay/pay/unifiedorder", "unifiedorder", simulator.unifiedorder, ["POST"]),
        ("/pay/pay/orderquery", "orderquery", simulator.orderquery, ["POST"]),
        ("/pay/pay/closeorder", "closeorder", simulator.closeorder, ["POST"]),
        ("/pay/secapi/pay/refund", "refund", simulator.refund, ["POST"]),
        ("/pay/pay/refundquery", "refundquery", simulator.refundquery, ["POST"]),
        ("/pay/simulate/<out_trade_no>", "simulate_pay", simulator.simulate_pay, ["POST"]),
        ("/pay/simulate/<out_trade_no>/notify", "resend_notify", simulator.resend_notify, ["POST"]),
        ("/pay/sheet/<out_trade_no>", "sheet", simulator.sheet, ["GET"]),
        ("/pay/_notifies/<ref>", "notifies", simulator.notifies, ["GET"]),
    ]
    for rule, endpoint, view, methods in [*routes, *simulator.v3.routes(), *simulator.card.routes()]:
        bp.add_url_rule(rule, endpoint, view, methods=methods)
    bp.pay_v3 = simulator.v3  # type: ignore[attr-defined] - mount() reads its keys
    bp.card = simulator.card  # type: ignore[attr-defined]
    return bp


def _random_digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _api_error(errcode: int, errmsg: str) -> Response:
    return jsonify(errcode=errcode, errmsg=errmsg)


def _xml_response(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _pay_fail(return_msg: str) -> Response:
    """A protocol-level failure (bad XML, bad signature): WeChat answers it unsigned."""
    return _xml_response(to_xml({"return_code": "FAIL", "return_msg": return_msg}))


class _Refusal(NamedTuple):
    """A business refusal decided inside an atomic update: WeChat's err_code and description."""

    err_code: str
    description: str
    status: int = 409


class _PayRequest:
    def __init__(self, fields: dict[str, str], sign_type: str) -> None:
        self.fields = fields
        self.sign_type = sign_type


class _Simulator:
    def __init__(
        self,
        settings_getter: Callable[[], WeChatSettings],
        redis_getter: Callable[[], Any],
        notify_delays: tuple[float, ...],
    ) -> None:
        self._settings_getter = settings_getter
        self._redis_getter = redis_getter
        self._notify_delays = notify_delays
        #: WeChat Pay API v3, with its own key pair generated now (see ``pay_v3``).
        self.v3 = PayV3Simulator(self)
        #: The Official Account's card wallet API (see ``card``).
        self.card = CardSimulator(self)

    @property
    def settings(self) -> WeChatSettings:
        return self._settings_getter()

    @property
    def store(self) -> SimStore:
        return SimStore(self._redis_getter())

    # --- mini-program server API (JSON) ---

    def token(self) -> Response:
        settings, args = self.settings, request.args
        if args.get("grant_type") != "client_credential":
            return _api_error(40002, "invalid grant_type")
        # The mini-program's credentials, or the Official Account's (card wallet) when configured.
        known = {settings.appid: settings.secret}
        if settings.oa_appid and settings.oa_secret:
            known[settings.oa_appid] = settings.oa_secret
        appid = args.get("appid", "")
        if appid not in known:
            return _api_error(40013, "invalid appid")
        if not hmac.compare_digest(args.get("secret", "").encode(), known[appid].encode()):
            return _api_error(40125, "invalid appsecret")
        return jsonify(access_token=self.store.issue_token(appid, TOKEN_TTL), expires_in=TOKEN_TTL)

    def jscode2session(self) -> Response:
        settings, args = self.settings, request.args
        if args.get("appid") != settings.appid:
            return _api_error(40013, "invalid appid")
        if not hmac.compare_digest(args.get("secret", "").encode(), settings.secret.encode()):
            return _api_error(40125, "invalid appsecret")
        if args.get("grant_type") != "authorization_code":
            return _api_error(40002, "invalid grant_type")
        code = args.get("js_code", "")
        forced = identities.forced_errcode(code)
        if forced is not None:
            return _api_error(forced, "simulated error")
        login = identities.parse_login_code(code)
        if login is None:
            return _api_error(40029, "invalid code")
        if not self.store.consume_code(code):
            return _api_error(40029, "invalid code, code has been used")
        answer = {
            "openid": identities.simulated_openid(settings.appid, login.name),
            "session_key": secrets.token_urlsafe(16),
        }
        if login.with_unionid:
            answer["unionid"] = identities.simulated_unionid(login.name)
        return jsonify(answer)

    def subscribe_send(self) -> Response:
        settings, store = self.settings, self.store
        token = request.args.get("access_token")
        if not token:
            return _api_error(41001, "access_token missing")
        if store.token_appid(token) != settings.appid:
            return _api_error(40001, "invalid credential, access_token is invalid or not latest")
        payload = request.get_json(force=True, silent=True)  # wechatpy sends no Content-Type
        if not isinstance(payload, dict):
            return _api_error(47001, "data format error")
        template_id = payload.get("template_id")
        if not payload.get("touser") or not isinstance(payload["touser"], str):
            return _api_error(40003, _SEND_ERRMSG[40003])
        if not template_id or not isinstance(template_id, str):
            return _api_error(40037, _SEND_ERRMSG[40037])
        forced = _FORCED_SEND_ERROR.fullmatch(template_id)
        if forced:
            errcode = int(forced.group(1))
            return _api_error(errcode, _SEND_ERRMSG.get(errcode, "simulated error"))
        problem = _check_message_data(payload.get("data"))
        if problem:
            return _api_error(47003, f"argument invalid! {problem}")
        if payload.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
            return _api_error(47003, "argument invalid! miniprogram_state")
        msgid = int(_random_digits(16))
        store.append(
            "messages",
            "all",
            {
                "msgid": msgid,
                "touser": payload["touser"],
                "template_id": template_id,
                "page": payload.get("page"),
                "data": payload["data"],
                "miniprogram_state": payload.get("miniprogram_state", "formal"),
                "lang": payload.get("lang", "zh_CN"),
            },
        )
        return jsonify(errcode=0, errmsg="ok", msgid=msgid)

    def messages(self) -> Response:
        """Sent subscribe messages (``?touser=`` filters); DELETE forgets them."""
        store = self.store
        if request.method == "DELETE":
            store.clear("messages", "all")
            return jsonify(items=[])
        items = store.entries("messages", "all")
        touser = request.args.get("touser")
        if touser:
            items = [item for item in items if item.get("touser") == touser]
        return jsonify(items=items)

    # --- WeChat Pay v2 API (signed XML) ---

    def _pay_request(self) -> _PayRequest | Response:
        """Parse and authenticate a pay API call, or the FAIL answer WeChat would give."""
        settings = self.settings
        fields = parse_xml(request.get_data())
        if fields is None:
            return _pay_fail("XML格式错误")
        if fields.get("appid") != settings.appid or fields.get("mch_id") != settings.mch_id:
            return _pay_fail("appid和mch_id不匹配")
        sign_type = fields.get("sign_type") or "MD5"
        if sign_type not in SIGN_TYPES:
            return _pay_fail("签名类型错误")
        expected = sign(fields, settings.pay_key, sign_type)
        if not hmac.compare_digest(expected.encode(), fields.get("sign", "").encode()):
            return _pay_fail("签名错误")
        return _PayRequest(fields, sign_type)

    def _pay_answer(self, req: _PayRequest, fields: Mapping[str, Any]) -> Response:
        settings = self.settings
        answer = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": settings.appid,
            "mch_id": settings.mch_id,
            "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS",
            "sub_mch_id": req.fields.get("sub_mch_id", ""),
            **fields,
        }
        return _xml_response(signed_xml(answer, settings.pay_key, req.sign_type))

    def _pay_error(self, req: _PayRequest, err_code: str, err_code_des: str) -> Response:
        return self._pay_answer(
            req, {"result_code": "FAIL", "err_code": err_code, "err_code_des": err_code_des}
        )

    def _refused(self, req: _PayRequest, refusal: _Refusal) -> Response:
        return self._pay_error(req, refusal.err_code, refusal.description)

    def unifiedorder(self) -> Response:
        req = self._pay_request()
        if isinstance(req, Response):
            return req
        fields = req.fields
        for name in ("body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"):
            if not fields.get(name):
                return _pay_fail(f"缺少参数{name}")
        problem = _check_order_fields(fields)
        if problem:
            return self._pay_error(req, "PARAM_ERROR", problem)
        out_trade_no = fields["out_trade_no"]
        new_order = {
            "out_trade_no": out_trade_no,
            "body": fields["body"],
            "attach": fields.get("attach", ""),
            "total_fee": int(fields["total_fee"]),
            "openid": fields["openid"],
            "notify_url": fields["notify_url"],
            "trade_type": fields["trade_type"],
            "time_expire": fields.get("time_expire", ""),
            "sign_type": req.sign_type,
            "prepay_id": "wx" + _now().strftime(WECHAT_TIME) + secrets.token_hex(10),
            "trade_state": "NOTPAY",
            "refunded_fee": 0,
            "sub_mchid": fields.get("sub_mch_id", ""),
        }

        result = self.place_order(new_order)
        if isinstance(result, _Refusal):
            return self._refused(req, result)
        return self._pay_answer(req, {"prepay_id": result["prepay_id"], "trade_type": result["trade_type"]})

    def place_order(self, new_order: dict[str, Any]) -> dict[str, Any] | _Refusal:
        """Record a new order, or give back the same one asked for again (both API versions)."""

        def create(current: dict[str, dict[str, Any] | None]) -> tuple[dict[str, Any], Any]:
            order = current["order"]
            if order is None:
                return {"order": new_order}, new_order
            if order["trade_state"] in _PAID_STATES:
                return {}, _Refusal("ORDERPAID", "该订单已支付")
            if order["trade_state"] == "CLOSED":
                return {}, _Refusal("ORDERCLOSED", "该订单已关闭")
            if any(order.get(key) != new_order.get(key) for key in ("total_fee", "openid", "body", "sub_mchid")):
                return {}, _Refusal("INVALID_REQUEST", "201 商户订单号重复")
            return {}, order

        return self.store.update({"order": ("order", new_order["out_trade_no"])}, create)

    def _find_order(self, fields: Mapping[str, str]) -> dict[str, Any] | None:
        store = self.store
        out_trade_no = fields.get("out_trade_no")
        if not out_trade_no and fields.get("transaction_id"):
            out_trade_no = store.id_owner("txn", fields["transaction_id"])
        order = store.get("order", out_trade_no) if out_trade_no else None
        if order and fields.get("transaction_id") and order.get("transaction_id") != fields["transaction_id"]:
            return None
        if order and (order.get("sub_mchid") or "") != fields.get("sub_mch_id", ""):
            return None  # another sub-merchant's order (partner mode) does not exist for this one
        return order

    def orderquery(self) -> Response:
        req = self._pay_request()
        if isinstance(req, Response):
            return req
        if not req.fields.get("out_trade_no") and not req.fields.get("transaction_id"):
            return self._pay_error(req, "PARAM_ERROR", "out_trade_no和transaction_id不能同时为空")
        order = self._find_order(req.fields)
        if order is None:
            return self._pay_error(req, "ORDERNOTEXIST", "订单不存在")
        answer = {
            "out_trade_no": order["out_trade_no"],
            "trade_state": order["trade_state"],
            "trade_state_desc": _TRADE_STATE_DESC[order["trade_state"]],
            "trade_type": order["trade_type"],
            "total_fee": order["total_fee"],
            "fee_type": "CNY",
            "openid": order["openid"],
            "attach": order["attach"],
        }
        if order["trade_state"] in _PAID_STATES:
            answer.update(_paid_fields(order))
        return self._pay_answer(req, answer)

    def closeorder(self) -> Response:
        req = self._pay_request()
        if isinstance(req, Response):
            return req
        out_trade_no = req.fields.get("out_trade_no")
        if not out_trade_no:
            return _pay_fail("缺少参数out_trade_no")

        refusal = self.close_order(out_trade_no)
        if refusal:
            return self._refused(req, refusal)
        return self._pay_answer(req, {})

    def close_order(self, out_trade_no: str) -> _Refusal | None:
        def close(current: dict[str, dict[str, Any] | None]) -> tuple[dict[str, Any], Any]:
            order = current["order"]
            if order is None:
                return {}, _Refusal("ORDERNOTEXIST", "订单不存在")
            if order["trade_state"] in _PAID_STATES:
                return {}, _Refusal("ORDERPAID", "订单已支付，不能发起关单")
            if order["trade_state"] == "CLOSED":
                return {}, _Refusal("ORDERCLOSED", "订单已关闭，无需继续关闭")
            return {"order": {**order, "trade_state": "CLOSED"}}, None

        return self.store.update({"order": ("order", out_trade_no)}, close)

    def refund(self) -> Response:
        req = self._pay_request()
        if isinstance(req, Response):
            return req
        fields = req.fields
        for name in ("out_refund_no", "total_fee", "refund_fee"):
            if not fields.get(name):
                return _pay_fail(f"缺少参数{name}")
        if not _OUT_REFUND_NO.fullmatch(fields["out_refund_no"]):
            return self._pay_error(req, "PARAM_ERROR", "out_refund_no格式错误")
        amounts = (fields["total_fee"], fields["refund_fee"])
        if not all(amount.isdigit() and int(amount) >= 1 for amount in amounts):
            return self._pay_error(req, "PARAM_ERROR", "金额格式错误")
        order = self._find_order(fields)
        if order is None:
            return self._pay_error(req, "ORDERNOTEXIST", "订单不存在")
        result = self.apply_refund(order, fields["out_refund_no"], int(fields["total_fee"]),
                                   int(fields["refund_fee"]), fields.get("notify_url", ""))
        if isinstance(result, _Refusal):
            return self._refused(req, result)
        refund = result
        return self._pay_answer(
            req,
            {
                "out_refund_no": refund["out_refund_no"],
                "refund_id": refund["refund_id"],
                "out_trade_no": order["out_trade_no"],
                "transaction_id": order.get("transaction_id", ""),
                "refund_fee": refund["refund_fee"],
                "total_fee": refund["total_fee"],
                "cash_fee": order["total_fee"],
                "refund_channel": "",
            },
        )

    def apply_refund(self, order: Mapping[str, Any], out_refund_no: str, total_fee: int, refund_fee: int,
                     notify_url: str) -> dict[str, Any] | _Refusal:
        """Accept a refund once (the same out_refund_no again answers the same refund) and notify it."""
        refund_id = self.store.reserve_id(
            "refundid", lambda: "50" + _now().strftime("%Y%m%d") + _random_digits(20), out_refund_no
        )
        new_refund = {
            "out_refund_no": out_refund_no,
            "refund_id": refund_id,
            "out_trade_no": order["out_trade_no"],
            "refund_fee": refund_fee,
            "total_fee": total_fee,
            "notify_url": notify_url,
            "refund_status": "PROCESSING",
            "created_at": _now().isoformat(timespec="seconds"),
        }

        def apply(current: dict[str, dict[str, Any] | None]) -> tuple[dict[str, Any], Any]:
            paid_order, existing = current["order"], current["refund"]
            if paid_order is None:
                return {}, _Refusal("ORDERNOTEXIST", "订单不存在")
            if existing is not None:
                if (existing["out_trade_no"], existing["refund_fee"]) != (order["out_trade_no"], refund_fee):
                    return {}, _Refusal("INVALID_REQUEST", "同一退款单号的退款参数不一致")
                return {}, (existing, False)
            if paid_order["trade_state"] not in _PAID_STATES:
                return {}, _Refusal("TRADE_STATE_ERROR", "订单状态错误")
            if total_fee != paid_order["total_fee"]:
                return {}, _Refusal("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")
            if paid_order["refunded_fee"] + refund_fee > paid_order["total_fee"]:
                return {}, _Refusal("NOTENOUGH", "累计退款金额大于订单金额")
            updated = {
                **paid_order,
                "trade_state": "REFUND",
                "refunded_fee": paid_order["refunded_fee"] + refund_fee,
            }
            return {"order": updated, "refund": new_refund}, (new_refund, True)

        result = self.store.update(
            {"order": ("order", order["out_trade_no"]), "refund": ("refund", out_refund_no)}, apply
        )
        if isinstance(result, _Refusal):
            return result
        refund, created = result
        if created and refund["notify_url"]:
            self._send_refund_notify(order, refund)
        return refund

    def refundquery(self) -> Response:
        """One refund by out_refund_no (the only way Kabao asks), in WeChat's numbered-field form."""
        req = self._pay_request()
        if isinstance(req, Response):
            return req
        out_refund_no = req.fields.get("out_refund_no")
        if not out_refund_no:
            return self._pay_error(req, "PARAM_ERROR", "缺少退款单号")
        refund = self.store.get("refund", out_refund_no)
        if refund is None:
            return self._pay_error(req, "REFUNDNOTEXIST", "退款订单查询失败")
        order = self.store.get("order", refund["out_trade_no"]) or {}
        answer = {
            "out_trade_no": refund["out_trade_no"],
            "transaction_id": order.get("transaction_id", ""),
            "total_fee": refund["total_fee"],
            "cash_fee": refund["total_fee"],
            "refund_count": 1,
            "out_refund_no_0": out_refund_no,
            "refund_id_0": refund["refund_id"],
            "refund_fee_0": refund["refund_fee"],
            "refund_status_0": refund["refund_status"],
            "refund_channel_0": "ORIGINAL",
            "refund_recv_accout_0": "支付用户零钱",
        }
        if refund.get("success_time"):
            answer["refund_success_time_0"] = refund["success_time"]
        return self._pay_answer(req, answer)

    # --- simulator-only actions ---

    def simulate_pay(self, out_trade_no: str) -> Response | tuple[Response, int]:
        """The user pays: mark the order paid and deliver the notify (``?notify=0`` loses it)."""
        store = self.store
        transaction_id = store.reserve_id(
            "txn", lambda: "4200" + _now().strftime("%Y%m%d") + _random_digits(16), out_trade_no
        )
        now = _now()

        def pay(current: dict[str, dict[str, Any] | None]) -> tuple[dict[str, Any], Any]:
            order = current["order"]
            if order is None:
                return {}, _Refusal("ORDERNOTEXIST", "订单不存在", 404)
            if order["trade_state"] in _PAID_STATES:
                return {}, _Refusal("ORDERPAID", "该订单已支付")
            if order["trade_state"] == "CLOSED":
                return {}, _Refusal("ORDERCLOSED", "该订单已关闭")
            if order["time_expire"] and now.strftime(WECHAT_TIME) >= order["time_expire"]:
                return {}, _Refusal("ORDER_EXPIRED", "订单已过期")
            paid = {
                **order,
                "trade_state": "SUCCESS",
                "transaction_id": transaction_id,
                "time_end": now.strftime(WECHAT_TIME),
            }
            return {"order": paid}, paid

        result = store.update({"order": ("order", out_trade_no)}, pay)
        if isinstance(result, _Refusal):
            return jsonify(error={"code": result.err_code, "message": result.description}), result.status
        notify = request.args.get("notify", "1") != "0"
        if notify:
            self._send_payment_notify(result)
        return jsonify(
            out_trade_no=out_trade_no,
            transaction_id=result["transaction_id"],
            trade_state=result["trade_state"],
            notify=notify,
        )

    def resend_notify(self, out_trade_no: str) -> Response | tuple[Response, int]:
        """Deliver a paid order's notify again: WeChat repeats notifies, merchants must cope."""
        order = self.store.get("order", out_trade_no)
        if order is None:
            return jsonify(error={"code": "ORDERNOTEXIST", "message": "订单不存在"}), 404
        if order["trade_state"] not in _PAID_STATES:
            return jsonify(error={"code": "ORDERNOTPAID", "message": "订单未支付"}), 409
        self._send_payment_notify(order)
        return jsonify(out_trade_no=out_trade_no, transaction_id=order["transaction_id"], notify=True)

    def sheet(self, out_trade_no: str) -> str:
        order = self.store.get("order", out_trade_no)
        if order is None:
            abort(404)
        return render_template(
            "wechat_sim/sheet.html",
            order=order,
            amount=f"{order['total_fee'] / 100:.2f}",
            mch_id=self.settings.mch_id,
        )

    def notifies(self, ref: str) -> Response:
        """Delivery attempts for an order's payment notify or a refund's notify."""
        return jsonify(items=self.store.entries("notifies", ref))

    def _send_payment_notify(self, order: Mapping[str, Any]) -> None:
        if order.get("api") == "v3":
            self.v3.send_payment_notify(order)
            return
        settings = self.settings
        fields = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": settings.appid,
            "mch_id": settings.mch_id,
            "nonce_str": secrets.token_hex(16),
            "result_code": "SUCCESS",
            "openid": order["openid"],
            "is_subscribe": "N",
            "trade_type": order["trade_type"],
            "total_fee": order["total_fee"],
            "fee_type": "CNY",
            "out_trade_no": order["out_trade_no"],
            "attach": order["attach"],
            "sub_mch_id": order.get("sub_mchid", ""),
            **_paid_fields(order),
        }
        body = signed_xml(fields, settings.pay_key, order["sign_type"])
        self._deliver(order["out_trade_no"], order["notify_url"], body)

    def _send_refund_notify(self, order: Mapping[str, Any], refund: dict[str, Any]) -> None:
        settings, store = self.settings, self.store
        success_time = _now().strftime("%Y-%m-%d %H:%M:%S")
        settled = {**refund, "refund_status": "SUCCESS", "success_time": success_time}
        store.put("refund", refund["out_refund_no"], settled)
        if order.get("api") == "v3":
            self.v3.send_refund_notify(order, settled)
            return
        inner = {
            "transaction_id": order.get("transaction_id", ""),
            "out_trade_no": order["out_trade_no"],
            "refund_id": refund["refund_id"],
            "out_refund_no": refund["out_refund_no"],
            "total_fee": refund["total_fee"],
            "refund_fee": refund["refund_fee"],
            "settlement_refund_fee": refund["refund_fee"],
            "refund_status": "SUCCESS",
            "success_time": success_time,
            "refund_recv_accout": "支付用户零钱",
            "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS",
            "refund_request_source": "API",
        }
        outer = {
            "return_code": "SUCCESS",
            "appid": settings.appid,
            "mch_id": settings.mch_id,
            "sub_mch_id": order.get("sub_mchid", ""),
            "nonce_str": secrets.token_hex(16),
            "req_info": encrypt_req_info(inner, settings.pay_key),
        }
        self._deliver(refund["out_refund_no"], refund["notify_url"], to_xml(outer))

    def _deliver(self, ref: str, url: str, body: str, sign: Callable[[str], dict[str, str]] | None = None) -> None:
        """Deliver a notify with retries; ``sign`` gives fresh v3 signature headers for each attempt."""
        store = self.store
        deliver_in_background(
            url, body, delays=self._notify_delays, record=lambda entry: store.append("notifies", ref, entry),
            sign=sign,
        )


def _paid_fields(order: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "transaction_id": order["transaction_id"],
        "time_end": order["time_end"],
        "bank_type": "OTHERS",
        "cash_fee": order["total_fee"],
    }


def _check_order_fields(fields: Mapping[str, str]) -> str | None:
    """What WeChat's unifiedorder would reject, in its words; None when the order is acceptable."""
    if not _OUT_TRADE_NO.fullmatch(fields["out_trade_no"]):
        return "out_trade_no参数格式错误"
    if not fields["total_fee"].isdigit() or int(fields["total_fee"]) < 1:
        return "total_fee参数格式错误"
    if fields["trade_type"] != "JSAPI":
        return "模拟器只支持JSAPI支付"
    if not fields.get("openid"):
        return "JSAPI支付必须传openid"
    if len(fields["body"].encode("utf-8")) > 128:
        return "body参数长度有误"
    if len(fields.get("attach", "").encode("utf-8")) > 127:
        return "attach参数长度有误"
    if not fields["notify_url"].startswith(("http://", "https://")) or "?" in fields["notify_url"]:
        return "notify_url参数格式错误，不能带参数"
    if fields.get("time_expire"):
        try:
            expire = datetime.strptime(fields["time_expire"], WECHAT_TIME).replace(tzinfo=SHANGHAI)
        except ValueError:
            return "time_expire参数格式错误"
        if expire - _now() < MIN_EXPIRY:
            return "time_expire时间过短，最短失效时间间隔必须大于1分钟"
    return None


def _check_message_data(data: Any) -> str | None:
    """Subscribe message ``data`` problems WeChat reports as 47003; None when acceptable."""
    if not isinstance(data, dict) or not data:
        return "data"
    for key, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not item["value"]:
            return f"data.{key}.value"
        kind = key.rstrip(string.digits)
        limit = _FIELD_LIMITS.get(kind)
        if limit is None:
            return f"data.{key} unknown field kind"
        if len(item["value"]) > limit:
            return f"data.{key}.value exceeds {limit} characters"
    return None
