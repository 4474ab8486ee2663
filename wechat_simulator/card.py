"""WeChat card wallet (卡包) member cards, as the Official Account's API answers them.

``card/create``, ``card/membercard/activate``, ``card/membercard/updateuser``,
``card/membercard/userinfo/get`` and ``cgi-bin/ticket/getticket?type=wx_card``, each needing an access
token of the Official Account (``WECHAT_OA_APPID``). Every call is recorded (``GET|DELETE
api/_card/calls``). Simulator actions:

- ``POST api/_card/add`` ``{card_id, card_ext}``: what ``wx.addCard`` does on the phone — checks the
  cardExt signature against the current api_ticket the way WeChat does (SHA1 over the sorted values
  of api_ticket, timestamp, nonce_str, card_id, code, openid), then the user holds that code;
  ``membercard/activate`` is refused (40056 invalid code) for a code nobody holds.
- ``POST api/_card/fail`` ``{path, errcode, times}``: the next ``times`` calls of ``path`` (e.g.
  ``card/membercard/updateuser``) fail with ``errcode``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

TICKET_TTL = 7200
#: A cardExt older than this is refused by wx.addCard (WeChat's window is generous; ours is 10 min).
CARD_EXT_MAX_AGE = 600


def _error(errcode: int, errmsg: str) -> Response:
    return jsonify(errcode=errcode, errmsg=errmsg)


class CardSimulator:
    def __init__(self, core: Any) -> None:
        self.core = core

    def routes(self) -> list[tuple[str, str, Callable[..., Any], list[str]]]:
        return [
            ("/api/cgi-bin/ticket/getticket", "card_ticket", self.ticket, ["GET"]),
            ("/api/card/create", "card_create", lambda: self.call("card/create", self.create), ["POST"]),
            ("/api/card/membercard/activate", "card_activate",
             lambda: self.call("card/membercard/activate", self.activate), ["POST"]),
            ("/api/card/membercard/updateuser", "card_updateuser",
             lambda: self.call("card/membercard/updateuser", self.updateuser), ["POST"]),
            ("/api/card/membercard/userinfo/get", "card_userinfo",
             lambda: self.call("card/membercard/userinfo/get", self.userinfo), ["POST"]),
            ("/api/_card/calls", "card_calls", self.calls, ["GET", "DELETE"]),
            ("/api/_card/add", "card_add", self.add, ["POST"]),
            ("/api/_card/fail", "card_fail", self.plan_failure, ["POST"]),
        ]

    # --- helpers ---

    def _oa_token_ok(self) -> Response | None:
        token = request.args.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        appid = self.core.settings.oa_appid
        if not appid or self.core.store.token_appid(token) != appid:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    def _redis(self) -> Any:
        return self.core.store.redis

    def call(self, path: str, handler: Callable[[dict[str, Any]], Response]) -> Response:
        refused = self._oa_token_ok()
        if refused is not None:
            return refused
        payload = request.get_json(force=True, silent=True)  # wechatpy sends no Content-Type
        if not isinstance(payload, dict):
            return _error(47001, "data format error")
        self.core.store.append("cardcalls", "all", {"path": path, "body": payload})
        forced = self._forced_error(path)
        if forced is not None:
            return _error(forced, "simulated error")
        return handler(payload)

    def _forced_error(self, path: str) -> int | None:
        key = f"wxsim:cardfail:{path}"
        plan = self._redis().get(key)
        if plan is None:
            return None
        errcode, _, left = (plan.decode() if isinstance(plan, bytes) else plan).partition(":")
        remaining = int(left) - 1
        if remaining > 0:
            self._redis().set(key, f"{errcode}:{remaining}", ex=3600)
        else:
            self._redis().delete(key)
        return int(errcode)

    def _current_ticket(self, appid: str) -> str | None:
        value = self._redis().get(f"wxsim:cardticket:{appid}")
        return value.decode() if isinstance(value, bytes) else value

    # --- WeChat's endpoints ---

    def ticket(self) -> Response:
        refused = self._oa_token_ok()
        if refused is not None:
            return refused
        if request.args.get("type") != "wx_card":
            return _error(40097, "invalid args")  # the simulator only knows the card ticket
        appid = self.core.settings.oa_appid
        ticket = secrets.token_urlsafe(32)
        self._redis().set(f"wxsim:cardticket:{appid}", ticket, ex=TICKET_TTL)
        self.core.store.append("cardcalls", "all", {"path": "ticket/getticket", "body": {"type": "wx_card"}})
        return jsonify(errcode=0, errmsg="ok", ticket=ticket, expires_in=TICKET_TTL)

    def create(self, payload: dict[str, Any]) -> Response:
        card = payload.get("card") or {}
        member = card.get("member_card") or {}
        base = member.get("base_info") or {}
        if card.get("card_type") != "MEMBER_CARD" or not member:
            return _error(40097, "invalid args: card_type")
        for name in ("logo_url", "brand_name", "code_type", "title", "color", "notice", "description", "sku",
                     "date_info"):
            if name not in base or base[name] in ("", None):
                return _error(40097, f"invalid args: base_info.{name}")
        if len(base["title"]) > 9 or len(base["brand_name"]) > 12 or len(base["notice"]) > 16:
            return _error(40097, "invalid args: field too long")
        if "prerogative" not in member or "supply_bonus" not in member or "supply_balance" not in member:
            return _error(40097, "invalid args: member_card")
        card_id = "p" + secrets.token_urlsafe(20)[:27]
        self.core.store.put("card", card_id, {"appid": self.core.settings.oa_appid, "card": card})
        return jsonify(errcode=0, errmsg="ok", card_id=card_id)

    def _code(self, payload: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None] | Response:
        card_id, code = str(payload.get("card_id") or ""), str(payload.get("code") or "")
        if self.core.store.get("card", card_id) is None:
            return _error(40073, "invalid card_id")
        if not code:
            return _error(40056, "invalid code")
        return card_id, code, self.core.store.get("cardcode", f"{card_id}:{code}")

    def activate(self, payload: dict[str, Any]) -> Response:
        found = self._code(payload)
        if isinstance(found, Response):
            return found
        card_id, code, record = found
        if record is None:
            return _error(40056, "invalid code")  # nobody added a card with this code
        if not payload.get("membership_number"):
            return _error(40097, "invalid args: membership_number")
        record.update(activated=True, membership_number=payload["membership_number"],
                      balance=int(payload.get("init_balance") or 0), bonus=int(payload.get("init_bonus") or 0),
                      custom_field_value1=payload.get("init_custom_field_value1"))
        self.core.store.put("cardcode", f"{card_id}:{code}", record)
        return jsonify(errcode=0, errmsg="ok")

    def updateuser(self, payload: dict[str, Any]) -> Response:
        found = self._code(payload)
        if isinstance(found, Response):
            return found
        card_id, code, record = found
        if record is None or not record.get("activated"):
            return _error(40056, "invalid code")
        for field in ("balance", "bonus"):
            if field in payload:  # the full value wins over the change, as WeChat documents
                record[field] = int(payload[field])
            elif f"add_{field}" in payload:
                record[field] = int(record.get(field) or 0) + int(payload[f"add_{field}"])
        if "custom_field_value1" in payload:
            record["custom_field_value1"] = payload["custom_field_value1"]
        self.core.store.put("cardcode", f"{card_id}:{code}", record)
        return jsonify(errcode=0, errmsg="ok", result_bonus=record.get("bonus", 0),
                       result_balance=record.get("balance", 0), openid=record.get("openid", ""))

    def userinfo(self, payload: dict[str, Any]) -> Response:
        found = self._code(payload)
        if isinstance(found, Response):
            return found
        _card_id, _code, record = found
        if record is None:
            return _error(40056, "invalid code")
        return jsonify(errcode=0, errmsg="ok", openid=record.get("openid", ""), bonus=record.get("bonus", 0),
                       balance=record.get("balance", 0),
                       user_card_status="NORMAL" if record.get("activated") else "NOT_ACTIVATED",
                       membership_number=record.get("membership_number"))

    # --- simulator actions ---

    def calls(self) -> Response:
        store = self.core.store
        if request.method == "DELETE":
            store.clear("cardcalls", "all")
            return jsonify(items=[])
        items = store.entries("cardcalls", "all")
        path = request.args.get("path")
        return jsonify(items=[item for item in items if not path or item.get("path") == path])

    def add(self) -> Response:
        """wx.addCard on the phone: verify cardExt as WeChat does, then the user holds the code."""
        payload = request.get_json(force=True, silent=True) or {}
        card_id = str(payload.get("card_id") or "")
        try:
            ext = json.loads(payload.get("card_ext") or "")
        except (TypeError, ValueError):
            return _error(40097, "invalid card_ext")
        card = self.core.store.get("card", card_id)
        if card is None:
            return _error(40073, "invalid card_id")
        ticket = self._current_ticket(card["appid"])
        values = [ticket or "", str(ext.get("timestamp", "")), str(ext.get("nonce_str", "")), card_id,
                  str(ext.get("code") or ""), str(ext.get("openid") or "")]
        expected = hashlib.sha1("".join(sorted(v for v in values if v)).encode()).hexdigest()  # noqa: S324 (WeChat)
        if not ticket or not secrets.compare_digest(expected, str(ext.get("signature", ""))):
            return _error(40056, "invalid signature")  # what addCard reports as 签名错误
        if abs(time.time() - int(ext.get("timestamp") or 0)) > CARD_EXT_MAX_AGE:
            return _error(40056, "card_ext expired")
        code = str(ext.get("code") or "")
        if not code:
            return _error(40056, "custom code card needs a code")
        key = f"{card_id}:{code}"
        if self.core.store.get("cardcode", key) is not None:
            return _error(40099, "code has been received")
        openid = str(payload.get("openid") or "o" + secrets.token_hex(14))
        self.core.store.put("cardcode", key, {"card_id": card_id, "code": code, "openid": openid, "activated": False})
        return jsonify(errcode=0, errmsg="ok", card_id=card_id, code=code, openid=openid)

    def plan_failure(self) -> Response:
        payload = request.get_json(force=True, silent=True) or {}
        path, errcode, times = str(payload.get("path") or ""), int(payload.get("errcode") or -1), int(
            payload.get("times") or 1)
        self._redis().set(f"wxsim:cardfail:{path}", f"{errcode}:{times}", ex=3600)
        return jsonify(path=path, errcode=errcode, times=times)

    def code_state(self, card_id: str, code: str) -> dict[str, Any] | None:
        return self.core.store.get("cardcode", f"{card_id}:{code}")
