"""Keys derived from configuration: Fernet for secrets we must read back, HMAC for codes we only compare."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


def _derive(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one leaked derived key exposes nothing else."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def fernet(config: Mapping[str, Any]) -> Fernet:
    key = config.get("DATA_ENCRYPTION_KEY")
    if key:
        return Fernet(key)
    return Fernet(base64.urlsafe_b64encode(_derive(config["SECRET_KEY"], "kabao:data-encryption")))


def encrypt(config: Mapping[str, Any], plaintext: str) -> str:
    return fernet(config).encrypt(plaintext.encode()).decode()


def decrypt(config: Mapping[str, Any], token: str) -> str:
    try:
        return fernet(config).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong DATA_ENCRYPTION_KEY or corrupted value") from exc


def code_hash_key(config: Mapping[str, Any]) -> bytes:
    key = config.get("CODE_HASH_KEY")
    return key.encode() if key else _derive(config["SECRET_KEY"], "kabao:code-hash")


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 hex of ``value``: stored instead of redemption codes and tokens."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
