"""WeChat Pay v2 wire format, written independently of wechatpy.

The simulator signs with this code and the gateway verifies with wechatpy's, so a bug in either
shows up in tests. Tests of callers use it to forge notifies (e.g. a bad signature or amount).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import xmltodict
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SIGN_TYPES = ("MD5", "HMAC-SHA256")


def sign(params: Mapping[str, Any], key: str, sign_type: str = "MD5") -> str:
    """WeChat's v2 signature: non-empty fields but ``sign``, ASCII-sorted ``k=v&…&key=KEY``, upper hex."""
    names = sorted(name for name, value in params.items() if name != "sign" and value not in (None, ""))
    pairs = [f"{name}={params[name]}" for name in names]
    text = ("&".join(pairs) + f"&key={key}").encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode("utf-8"), text, hashlib.sha256).hexdigest().upper()
    if sign_type == "MD5":
        return hashlib.md5(text).hexdigest().upper()  # noqa: S324 - mandated by WeChat Pay v2
    raise ValueError(f"unknown sign_type {sign_type!r}")


def to_xml(params: Mapping[str, Any], root: str = "xml") -> str:
    """Fields as CDATA elements; empty values are left out like WeChat does."""
    parts = [f"<{root}>"]
    for name, value in params.items():
        if value in (None, ""):
            continue
        text = str(value).replace("]]>", "]]]]><![CDATA[>")
        parts.append(f"<{name}><![CDATA[{text}]]></{name}>")
    parts.append(f"</{root}>")
    return "".join(parts)


def signed_xml(params: Mapping[str, Any], key: str, sign_type: str = "MD5") -> str:
    """``params`` plus their ``sign`` as XML, the way WeChat sends a notify or an API answer."""
    return to_xml({**params, "sign": sign(params, key, sign_type)})


def parse_xml(body: bytes | str) -> dict[str, str] | None:
    """A flat ``<xml>`` document as ``{field: text}``, or ``None`` for anything else."""
    if not body:
        return None
    try:
        document = xmltodict.parse(body)
    except Exception:  # any parser failure: the caller answers "XML格式错误"
        return None
    root = document.get("xml") if isinstance(document, Mapping) else None
    if not isinstance(root, Mapping):
        return None
    fields: dict[str, str] = {}
    for name, value in root.items():
        if value is not None and not isinstance(value, str):
            return None
        fields[name] = value or ""
    return fields


def _refund_key(api_key: str) -> bytes:
    return hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")  # noqa: S324 - WeChat's key


def encrypt_req_info(fields: Mapping[str, Any], api_key: str) -> str:
    """Refund notify ``req_info``: ``<root>`` XML, PKCS7, AES-256-ECB with key md5(api_key) hex, base64."""
    padder = padding.PKCS7(128).padder()
    plain = padder.update(to_xml(fields, root="root").encode("utf-8")) + padder.finalize()
    cipher = Cipher(algorithms.AES(_refund_key(api_key)), modes.ECB())  # noqa: S305 - WeChat's format
    encryptor = cipher.encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")
