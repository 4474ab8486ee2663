"""Card products (卡种): what a merchant sells, with every field of docs/api.md's product."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import IntPK, JsonDoc, db, utcnow
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.transitions import Lifecycle


class CardKind(StrEnum):
    STORED_VALUE = "stored_value"
    COUNT = "count"
    POINTS = "points"
    DISCOUNT = "discount"

    @property
    def prepaid(self) -> bool:
        """Prepaid products fall under the single-purpose prepaid card rules."""
        return self in (CardKind.STORED_VALUE, CardKind.COUNT)


class ProductForm(StrEnum):
    """Whether the card exists only in the mini-program or is also printed (实体卡)."""

    VIRTUAL = "virtual"
    PHYSICAL = "physical"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    RETIRED = "retired"


#: The product lifecycle: (status, event) → status. Editing a rejected product returns it to draft.
PRODUCT_LIFECYCLE = Lifecycle(ProductStatus, {
    (ProductStatus.DRAFT, "edit"): ProductStatus.DRAFT,
    (ProductStatus.REJECTED, "edit"): ProductStatus.DRAFT,
    (ProductStatus.DRAFT, "submit"): ProductStatus.PENDING_REVIEW,
    (ProductStatus.REJECTED, "submit"): ProductStatus.PENDING_REVIEW,
    (ProductStatus.PENDING_REVIEW, "approve"): ProductStatus.APPROVED,
    (ProductStatus.PENDING_REVIEW, "reject"): ProductStatus.REJECTED,
    (ProductStatus.APPROVED, "publish"): ProductStatus.PUBLISHED,
    (ProductStatus.PUBLISHED, "retire"): ProductStatus.RETIRED,
}, noun="卡种")


class DeductionOrder(StrEnum):
    PROPORTIONAL = "proportional"
    BONUS_FIRST = "bonus_first"
    PRINCIPAL_FIRST = "principal_first"


class CardProduct(CreatedAt, db.Model):
    __tablename__ = "card_products"
    __table_args__ = (
        one_of("kind", CardKind),
        one_of("status", ProductStatus),
        one_of("deduction_order", DeductionOrder),
        one_of("form", ProductForm),
        *non_negative("face_value_fen", "uses", "min_spend_fen"),
        CheckConstraint(
            "discount_percent IS NULL OR (discount_percent BETWEEN 1 AND 99)", name="discount_percent_range"
        ),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: Template the product was created from, if any.
    template_code: Mapped[str | None] = mapped_column(String(60))
    #: Product name shown on the card.
    name: Mapped[str] = mapped_column(String(100))
    #: stored_value, count, points or discount.
    kind: Mapped[str] = mapped_column(String(20))
    #: virtual, or physical: printed cards sold and activated at the counter.
    form: Mapped[str] = mapped_column(String(10), default=ProductForm.VIRTUAL)
    #: Uploaded face artwork {key, width, height} (storage key and pixel size); NULL = the drawn face.
    face_image: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    #: Named (记名) cards are registered to a person; unnamed ones are bearer cards.
    named: Mapped[bool] = mapped_column(default=True)
    #: Value loaded at issuance (principal of a stored-value card, price basis of a count card).
    face_value_fen: Mapped[int] = mapped_column(default=0)
    #: Uses granted by a count card.
    uses: Mapped[int] = mapped_column(default=0)
    #: The service a count card's uses buy (e.g. 洗剪吹).
    service_name: Mapped[str | None] = mapped_column(String(100))
    #: Percent of the bill paid with a discount (88 = 12% off).
    discount_percent: Mapped[int | None]
    #: Usage threshold 满X可用, in fen.
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    #: Whether holders may transfer the card.
    transferable: Mapped[bool] = mapped_column(default=True)
    #: Whether the card can be combined with coupons.
    stackable_with_coupons: Mapped[bool] = mapped_column(default=True)
    #: How a payment splits between principal and bonus.
    deduction_order: Mapped[str] = mapped_column(String(20), default=DeductionOrder.PROPORTIONAL)
    #: Terms and conditions shown to the buyer (scanned for void clauses).
    terms: Mapped[str] = mapped_column(Text, default="")
    #: {enabled, tiers: [{amount_fen, bonus_fen}], allow_custom, min_fen, max_fen}.
    top_up: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {earn_per_yuan, points_per_yuan_off}.
    points_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {type: permanent|fixed|relative, start, end, days}.
    validity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {allowed, fee_percent}.
    refund_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: "all" or a list of store ids where the card works.
    store_scope: Mapped[Any] = mapped_column(JsonDoc, default="all")
    #: [{region_code, discount_percent}] overriding the discount by store region.
    regional_discounts: Mapped[list[Any]] = mapped_column(default=list)
    #: {prefix, length} of generated card numbers.
    card_no_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {color, logo_url} of the rendered card face.
    style: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {enabled}: sync the product's cards into WeChat's card wallet (微信卡包) once it is published.
    wechat_card: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Lifecycle: draft → pending_review → approved/rejected → published → retired.
    status: Mapped[str] = mapped_column(String(20), default=ProductStatus.DRAFT, index=True)
    #: The platform reviewer's last comment.
    review_comment: Mapped[str | None] = mapped_column(String(500))
    #: When a test run last passed (purchase, top-up, redeem, reversal, refund in test mode); a prepaid
    #: product is published only after one (its rules no longer change once approved).
    test_run_passed_at: Mapped[datetime | None]
    #: The last test run {passed, at, steps: [{step, ok, detail}]}, shown on the product page.
    last_test_run: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Latest smart-validation result {errors, warnings}.
    validation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Last change of any field or status.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
