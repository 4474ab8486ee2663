"""Deterministic ``wx.login`` codes for tests and the demo.

Format (each code string is single-use, like a real one):

- ``sim:<name>`` → the user ``<name>`` (1–64 of ``[A-Za-z0-9_.-]``), no unionid;
- ``sim:<name>:union`` → the same user, with a unionid;
- any further ``:<nonce>`` (``sim:alice:7f3a``, ``sim:alice:union:7f3a``) makes a fresh code for the
  same user, so one user can log in many times;
- ``sim-error:<errcode>`` → always that WeChat error (``sim-error:45011`` rate limit,
  ``sim-error:40163`` code used, ``sim-error:-1`` system busy);
- anything else → 40029 invalid code.

The openid depends on the appid and the name, the unionid on the name only (as WeChat's do).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_FORCED_ERROR = re.compile(r"sim-error:(-?\d{1,6})")


@dataclass(frozen=True)
class SimulatedLogin:
    name: str
    with_unionid: bool


def _digest_id(first: str, seed: str) -> str:
    """28 characters like a real id: a letter and 27 URL-safe base64 characters."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return first + base64.urlsafe_b64encode(digest).decode("ascii")[:27]


def simulated_openid(appid: str, name: str) -> str:
    return _digest_id("o", f"openid:{appid}:{name}")


def simulated_unionid(name: str) -> str:
    return _digest_id("u", f"unionid:{name}")


def forced_errcode(code: str) -> int | None:
    match = _FORCED_ERROR.fullmatch(code)
    return int(match.group(1)) if match else None


def parse_login_code(code: str) -> SimulatedLogin | None:
    parts = code.split(":")
    if len(parts) < 2 or len(parts) > 4 or parts[0] != "sim" or not _NAME.fullmatch(parts[1]):
        return None
    rest = parts[2:]
    with_unionid = bool(rest) and rest[0] == "union"
    if with_unionid:
        rest = rest[1:]
    if len(rest) > 1 or (rest and not rest[0]):
        return None
    return SimulatedLogin(name=parts[1], with_unionid=with_unionid)
