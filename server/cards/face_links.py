"""Card face images: rendered once per distinct content, cached in Redis, served by a signed URL.

The URL carries a signed card or template reference instead of a bearer token, because the
mini-program loads it with a plain <image src>; it reveals only what the face shows (merchant,
product, masked number).
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from server.errors import NotFound

_SALT = "kabao:card-face"
FACE_TTL_SECONDS = 7 * 24 * 3600


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def card_face_url(card_id: int) -> str:
    """Absolute URL of a card's face image."""
    token = _signer().dumps(["card", card_id])
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/faces/{token}.png"


def template_face_url(template_code: str) -> str:
    token = _signer().dumps(["template", template_code])
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/faces/{token}.png"


def product_face_url(product_id: int) -> str:
    token = _signer().dumps(["product", product_id])
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/faces/{token}.png"


def read_face_token(token: str) -> tuple[str, int | str]:
    try:
        kind, ref = _signer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("图片不存在") from None
    return kind, ref
