"""Signed URLs of card face images.

The URL carries a signed card, product or template reference instead of a bearer token, because the
mini-program loads it with a plain <image src>; it reveals only what the face shows (merchant,
product, masked number). Services and serializers are handed a ``FaceLinks``; only boundaries
(views, templates) build one from the app's settings with ``face_links()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from server.errors import NotFound

_SALT = "kabao:card-face"
FACE_TTL_SECONDS = 7 * 24 * 3600
#: Where the face images are served, below the public base URL.
FACE_PATH = "/api/v1/faces/"


@dataclass(frozen=True)
class FaceLinks:
    """Signs and reads face references; ``public_base_url`` makes the URLs absolute."""

    secret_key: str
    public_base_url: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FaceLinks:
        return cls(secret_key=config["SECRET_KEY"], public_base_url=config["PUBLIC_BASE_URL"])

    def _url(self, kind: str, ref: int | str) -> str:
        token = URLSafeSerializer(self.secret_key, salt=_SALT).dumps([kind, ref])
        return f"{self.public_base_url}{FACE_PATH}{token}.png"

    def card(self, card_id: int) -> str:
        return self._url("card", card_id)

    def product(self, product_id: int) -> str:
        return self._url("product", product_id)

    def template(self, template_code: str) -> str:
        return self._url("template", template_code)

    def read(self, token: str) -> tuple[str, int | str]:
        """The reference a token signs; an unsigned or altered one is simply not found."""
        try:
            kind, ref = URLSafeSerializer(self.secret_key, salt=_SALT).loads(token)
        except (BadSignature, ValueError, TypeError):
            raise NotFound("图片不存在") from None
        return kind, ref


def face_links() -> FaceLinks:
    """The current app's face links (for views and templates)."""
    return FaceLinks.from_config(current_app.config)
