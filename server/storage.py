"""Where uploaded files live: a small interface with a local-disk implementation.

Production can swap in object storage (OSS/COS/S3) behind the same two methods.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Protocol

from flask import current_app


class DocumentStorage(Protocol):
    def save(self, data: bytes, suffix: str) -> str:
        """Store bytes; return an opaque key."""

    def load(self, key: str) -> bytes:
        """Bytes stored under ``key``; FileNotFoundError if none."""


class LocalDiskStorage:
    """Files under one directory, named by random keys (no user input reaches the path)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, suffix: str) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        key = f"{secrets.token_hex(16)}.{suffix}"
        (self.root / key).write_bytes(data)
        return key

    def load(self, key: str) -> bytes:
        path = (self.root / key).resolve()
        if path.parent != self.root.resolve():
            raise FileNotFoundError(key)
        return path.read_bytes()


def document_storage() -> LocalDiskStorage:
    """The app's document storage (for views): ``UPLOAD_DIR``, by default instance/uploads."""
    return LocalDiskStorage(Path(current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads"))
