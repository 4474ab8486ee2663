"""Card products: create (from a template), edit, validate, and move through the review lifecycle.

Status transitions live in one table; anything else is 409 STATE_CONFLICT, and every transition is
written to the audit log.
"""

from __future__ import annotations

import copy
import io
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.cardwallet.services import request_member_card
from server.errors import BusinessRuleError, Conflict, NotFound, TestRunRequired, ValidationError
from server.merchants.models import PREPAID_REQUIRED_DOCUMENTS, DocumentKind, Store
from server.merchants.services import get_merchant, require_approved, require_documents
from server.products.models import PRODUCT_LIFECYCLE, CardKind, CardProduct, ProductStatus
from server.products.validation import validate_product
from server.storage import DocumentStorage
from server.templates_library import get_template
from server.timeutil import shanghai_today
from server.webhooks.events import record_event

#: API field name → CardProduct column, where they differ.
_COLUMN_OF = {"points": "points_rule", "refund": "refund_rule", "card_no": "card_no_rule"}
PRODUCT_FIELDS = (
    "name", "kind", "form", "named", "face_value_fen", "top_up", "uses", "service_name", "discount_percent", "points",
    "min_spend_fen", "validity", "refund", "transferable", "stackable_with_coupons", "store_scope",
    "regional_discounts", "card_no", "deduction_order", "terms", "style", "wechat_card",
)
#: Fields every product has, whatever the merchant sends (the model's defaults, as API fields).
_DEFAULTS: dict[str, Any] = {
    "form": "virtual", "named": True, "face_value_fen": 0, "top_up": {"enabled": False, "tiers": []}, "uses": 0,
    "service_name": None,
    "discount_percent": None, "points": {}, "min_spend_fen": 0, "validity": {"type": "permanent"},
    "refund": {"allowed": True, "fee_percent": 0}, "transferable": True, "stackable_with_coupons": True,
    "store_scope": "all", "regional_discounts": [], "card_no": {"prefix": "", "length": 16},
    "deduction_order": "proportional", "terms": "", "style": {"color": "#3B5BDB", "logo_url": None},
    "wechat_card": {"enabled": False},
}



def product_fields(product: CardProduct) -> dict[str, Any]:
    """The product as docs/api.md's product fields."""
    return {name: copy.deepcopy(getattr(product, _COLUMN_OF.get(name, name))) for name in PRODUCT_FIELDS}


def scope_regions(session: Session, merchant_id: int, scope: Any) -> list[str]:
    """Region codes of the merchant's stores in ``scope``: every store for "all", else the listed ones."""
    stmt = select(Store.region_code).where(Store.merchant_id == merchant_id)
    if scope != "all":
        listed = scope if isinstance(scope, list) else []
        ids = [int(s) for s in listed if (isinstance(s, int) and not isinstance(s, bool))
               or (isinstance(s, str) and s.isascii() and s.isdigit())]
        stmt = stmt.where(Store.id.in_(ids))
    return sorted(set(session.scalars(stmt)))


def run_validation(session: Session, merchant_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Smart validation of ``fields`` as ``merchant_id`` would sell them: the regional rules of the
    stores in the product's scope (default "all") and of the merchant's industry apply."""
    merchant = get_merchant(session, merchant_id)
    regions = scope_regions(session, merchant_id, fields.get("store_scope", "all"))
    return validate_product(fields, today=shanghai_today(), region_codes=regions,
                            industry=merchant.industry).to_dict()


def face_size(product: CardProduct | None) -> dict[str, int] | None:
    """``{width, height}`` of the product's uploaded face; None when it has none."""
    face = product.face_image if product is not None else None
    return {"width": face["width"], "height": face["height"]} if face else None


def validate_stored(session: Session, product: CardProduct) -> dict[str, Any]:
    """Validation of a stored product: its fields and the pixel size of its uploaded face, if any."""
    return run_validation(session, product.merchant_id, {**product_fields(product), "face_image": face_size(product)})


def _apply(session: Session, product: CardProduct, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(product, _COLUMN_OF.get(name, name), value)
    product.validation = validate_stored(session, product)


def _check_store_scope(session: Session, merchant_id: int, scope: Any) -> None:
    if scope == "all" or not isinstance(scope, list):
        return
    found = set(session.scalars(select(Store.id).where(Store.merchant_id == merchant_id, Store.id.in_(scope))))
    unknown = [s for s in scope if s not in found]
    if unknown:
        raise ValidationError({"store_scope": f"门店不存在: {unknown}"})


def get_product(session: Session, merchant_id: int | None, product_id: int) -> CardProduct:
    """A product, scoped to a merchant (another merchant's product is not found); None = platform."""
    product = session.get(CardProduct, product_id)
    if product is None or (merchant_id is not None and product.merchant_id != merchant_id):
        raise NotFound("卡种不存在")
    return product


def create_product(
    session: Session, actor: Principal, fields: dict[str, Any], template_code: str | None
) -> CardProduct:
    """A draft product: template defaults (if any) overridden by the given fields."""
    merged = dict(_DEFAULTS)
    if template_code:
        template = get_template(template_code)
        if template is None:
            raise ValidationError({"template_code": "模板不存在"})
        merged.update(copy.deepcopy(template["defaults"]))
    merged.update(fields)
    missing = {name: "必填" for name in ("name", "kind") if not merged.get(name)}
    if missing:
        raise ValidationError(missing)
    _check_store_scope(session, actor.merchant_id, merged["store_scope"])
    product = CardProduct(merchant_id=actor.merchant_id, template_code=template_code, status=ProductStatus.DRAFT)
    _apply(session, product, {name: merged[name] for name in PRODUCT_FIELDS})
    session.add(product)
    session.flush()
    _audit(session, actor, product, "product.create", {"template_code": template_code})
    return product


def update_product(session: Session, actor: Principal, product_id: int, fields: dict[str, Any]) -> CardProduct:
    """Edit a draft or rejected product; a rejected one returns to draft."""
    product = get_product(session, actor.merchant_id, product_id)
    if not PRODUCT_LIFECYCLE.allows(product.status, "edit"):
        raise Conflict("只有草稿或被驳回的卡种可以修改")
    if "store_scope" in fields:
        _check_store_scope(session, actor.merchant_id, fields["store_scope"])
    _apply(session, product, fields)
    PRODUCT_LIFECYCLE.apply(product, "edit")
    session.flush()
    _audit(session, actor, product, "product.update", {"fields": sorted(fields)})
    return product


#: Face artwork a merchant may upload (decoded with Pillow, so only its size matters to validation).
FACE_FORMATS = {"PNG": "png", "JPEG": "jpg"}
MAX_FACE_BYTES = 10 * 1024 * 1024


def set_face_image(session: Session, actor: Principal, storage: DocumentStorage, product_id: int,
                   data: bytes) -> CardProduct:
    """Store a product's face artwork (PNG or JPEG) and revalidate: a physical product's face must be
    print-sized (FACE_SIZE in its validation otherwise). Draft or rejected products only."""
    product = get_product(session, actor.merchant_id, product_id)
    if not PRODUCT_LIFECYCLE.allows(product.status, "edit"):
        raise Conflict("只有草稿或被驳回的卡种可以修改")
    if len(data) > MAX_FACE_BYTES:
        raise ValidationError({"file": "卡面图片不能超过 10 MB"})
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
            image.verify()
    except (OSError, Image.DecompressionBombError, SyntaxError):
        raise ValidationError({"file": "卡面图片应为 PNG 或 JPEG"}) from None
    if fmt not in FACE_FORMATS:
        raise ValidationError({"file": "卡面图片应为 PNG 或 JPEG"})
    product.face_image = {"key": storage.save(data, FACE_FORMATS[fmt]), "width": width, "height": height}
    _apply(session, product, {})
    PRODUCT_LIFECYCLE.apply(product, "edit")
    session.flush()
    _audit(session, actor, product, "product.face", {"width": width, "height": height})
    return product


def submit_product(session: Session, actor: Principal, product_id: int) -> CardProduct:
    """Send for platform review; blocked while validation finds errors (422 VALIDATION_FAILED)."""
    product = get_product(session, actor.merchant_id, product_id)
    product.validation = validate_stored(session, product)
    if product.validation["errors"]:
        raise BusinessRuleError("卡种存在校验错误，请修改后再提交", code="VALIDATION_FAILED",
                                details=product.validation)
    before, after = PRODUCT_LIFECYCLE.apply(product, "submit")
    session.flush()
    _audit(session, actor, product, "product.submit", {"from": before, "to": after})
    return product


def approval_documents(product: CardProduct) -> tuple[DocumentKind, ...]:
    """The merchant's documents approving ``product`` needs: the fund guarantee for a prepaid one."""
    return PREPAID_REQUIRED_DOCUMENTS if CardKind(product.kind).prepaid else ()


def review_product(session: Session, admin_id: int, product_id: int, decision: str, comment: str) -> CardProduct:
    """Platform decision on a pending product; the comment is shown to the merchant.

    Approving a prepaid product (stored value or count) needs its merchant's fund-guarantee
    certificate or risk-reserve receipt (422 DOCUMENTS_MISSING)."""
    product = get_product(session, None, product_id)
    if decision == "approve" and PRODUCT_LIFECYCLE.allows(product.status, "approve"):
        require_documents(session, product.merchant_id, approval_documents(product))
    before, after = PRODUCT_LIFECYCLE.apply(product, decision)
    product.review_comment = comment
    session.flush()
    record(session, action=f"product.{decision}", actor_type="admin", actor_id=admin_id,
           merchant_id=product.merchant_id, target_type="product", target_id=product.id,
           detail={"from": before, "to": after, "comment": comment})
    record_event(session, merchant_id=product.merchant_id, type="product.reviewed", data=lambda: {
        "decision": decision, "product": {"product_id": product.id, **product_fields(product),
                                          "status": product.status, "review_comment": product.review_comment}})
    return product


def publish_product(session: Session, actor: Principal, product_id: int, *, require_test_run: bool) -> CardProduct:
    """Put an approved product on sale; a prepaid one only after a passing test run (unless the
    ``TEST_RUN_REQUIRED`` setting is off)."""
    product = get_product(session, actor.merchant_id, product_id)
    require_approved(get_merchant(session, actor.merchant_id))
    if (require_test_run and CardKind(product.kind).prepaid and product.test_run_passed_at is None
            and PRODUCT_LIFECYCLE.allows(product.status, "publish")):
        raise TestRunRequired()
    before, after = PRODUCT_LIFECYCLE.apply(product, "publish")
    session.flush()
    _audit(session, actor, product, "product.publish", {"from": before, "to": after})
    request_member_card(session, product)  # a product synced into WeChat's card wallet gets its member card
    return product


def retire_product(session: Session, actor: Principal, product_id: int) -> CardProduct:
    """Stop selling the product; cards already issued keep working."""
    product = get_product(session, actor.merchant_id, product_id)
    before, after = PRODUCT_LIFECYCLE.apply(product, "retire")
    session.flush()
    _audit(session, actor, product, "product.retire", {"from": before, "to": after})
    return product


def list_products(session: Session, merchant_id: int | None, status: str | None = None):
    """A select of products of one merchant (or all, for the platform), optionally by status."""
    stmt = select(CardProduct)
    if merchant_id is not None:
        stmt = stmt.where(CardProduct.merchant_id == merchant_id)
    if status:
        stmt = stmt.where(CardProduct.status == status)
    return stmt


def _audit(session: Session, actor: Principal, product: CardProduct, action: str, detail: dict[str, Any]) -> None:
    record(session, action=action, actor_type="staff", actor_id=actor.id, merchant_id=product.merchant_id,
           target_type="product", target_id=product.id, detail=detail)
