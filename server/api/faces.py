"""GET /api/v1/faces/<token>.png: card faces for cards, products and templates, cached by content."""

from __future__ import annotations

from flask import Blueprint, Response, request

from server.cards.face_images import face_cache_key, render_card_face
from server.cards.face_links import FACE_TTL_SECONDS, face_links
from server.cards.models import Card
from server.cards.serializers import mask_card_no
from server.db import db
from server.errors import NotFound
from server.extensions import get_redis
from server.merchants.models import Merchant
from server.products.models import CardProduct
from server.templates_library import get_template

blueprint = Blueprint("faces", __name__, url_prefix="/api/v1/faces")


def _placeholder_number(prefix: str) -> str:
    return f"{(prefix or '')[:4].ljust(4, '*')} **** **** ****"


def _face_inputs(kind: str, ref: int | str) -> dict[str, str]:
    """What the face shows, from the signed reference."""
    if kind == "template":
        template = get_template(str(ref))
        if template is None:
            raise NotFound("图片不存在")
        defaults = template["defaults"]
        return {"merchant_name": template.get("industry_name") or "示例商户", "product_name": defaults["name"],
                "card_no_masked": _placeholder_number(defaults.get("card_no", {}).get("prefix", "")),
                "color": defaults.get("style", {}).get("color", ""), "kind": defaults["kind"]}
    card = db.session.get(Card, ref) if kind == "card" else None
    product = db.session.get(CardProduct, card.product_id if card else ref)
    if product is None or (kind == "card" and card is None):
        raise NotFound("图片不存在")
    merchant = db.session.get(Merchant, product.merchant_id)
    number = mask_card_no(card.card_no) if card else _placeholder_number(product.card_no_rule.get("prefix", ""))
    return {"merchant_name": merchant.name, "product_name": product.name, "card_no_masked": number,
            "color": product.style.get("color", ""), "kind": product.kind}


@blueprint.get("/<token>.png")
def face(token: str):
    inputs = _face_inputs(*face_links().read(token))
    key = face_cache_key(**inputs)
    etag = f'"{key}"'
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers={"ETag": etag})
    redis = get_redis()
    png = redis.get(f"face:{key}")
    if png is None:
        png = render_card_face(**inputs)
        redis.set(f"face:{key}", png, ex=FACE_TTL_SECONDS)
    return Response(png, content_type="image/png",
                    headers={"ETag": etag, "Cache-Control": "public, max-age=86400"})
