"""Request schemas for card products: structure and types only.

Business rules (caps, dates, clauses, thresholds) are smart validation's job
(server/products/validation.py); these schemas only make sure the values can be stored.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from server.db import INT64_MAX, INT64_MIN
from server.pagination import PageArgs
from server.products.models import CardKind, DeductionOrder, ProductForm
from server.schemas import Fen, Schema, StrictInt, http_url


class StoreScope(fields.Field):
    """"all", or a list of store ids."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "all":
            return value
        if isinstance(value, list) and all(type(v) is int and INT64_MIN <= v <= INT64_MAX for v in value):
            return value
        raise ma.ValidationError('应为 "all" 或门店 ID 数组')


class TierSchema(Schema):
    amount_fen = StrictInt(required=True)
    bonus_fen = StrictInt(load_default=0)


class TopUpSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    allow_custom = fields.Boolean(load_default=False)
    min_fen = StrictInt(allow_none=True, load_default=None)
    max_fen = StrictInt(allow_none=True, load_default=None)


class PointsSchema(Schema):
    earn_per_yuan = StrictInt(allow_none=True, load_default=None)
    points_per_yuan_off = StrictInt(allow_none=True, load_default=None)


class ValiditySchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["permanent", "fixed", "relative"]))
    start = fields.String(allow_none=True, load_default=None)
    end = fields.String(allow_none=True, load_default=None)
    #: At most a century: a card's expiry must stay a date Python can compute (year ≤ 9999).
    days = StrictInt(allow_none=True, load_default=None, validate=validate.Range(max=36_600))


class RefundSchema(Schema):
    allowed = fields.Boolean(required=True)
    fee_percent = StrictInt(load_default=0)


class RegionalDiscountSchema(Schema):
    region_code = fields.String(required=True, validate=validate.Length(equal=6))
    discount_percent = StrictInt(required=True)


class CardNoSchema(Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=10))
    length = StrictInt(load_default=16)


class StyleSchema(Schema):
    color = fields.String(load_default="#3B5BDB", validate=validate.Length(max=20))
    logo_url = fields.String(allow_none=True, load_default=None, validate=[validate.Length(max=500), http_url])


class WeChatCardSchema(Schema):
    enabled = fields.Boolean(load_default=False)


class ProductFieldsSchema(Schema):
    """Every product field of docs/api.md; PATCH loads it with partial=True."""

    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.Enum(CardKind, by_value=True)
    form = fields.Enum(ProductForm, by_value=True)
    named = fields.Boolean()
    face_value_fen = Fen()
    top_up = fields.Nested(TopUpSchema)
    uses = StrictInt(validate=validate.Range(min=0))
    service_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    discount_percent = StrictInt(allow_none=True, validate=validate.Range(min=1, max=99))
    points = fields.Nested(PointsSchema)
    min_spend_fen = Fen()
    validity = fields.Nested(ValiditySchema)
    refund = fields.Nested(RefundSchema)
    transferable = fields.Boolean()
    stackable_with_coupons = fields.Boolean()
    store_scope = StoreScope()
    regional_discounts = fields.List(fields.Nested(RegionalDiscountSchema))
    card_no = fields.Nested(CardNoSchema)
    deduction_order = fields.Enum(DeductionOrder, by_value=True)
    terms = fields.String(validate=validate.Length(max=5000))
    style = fields.Nested(StyleSchema)
    wechat_card = fields.Nested(WeChatCardSchema)

    @ma.post_load
    def plain_values(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Enums back to their strings, as stored."""
        return {k: (v.value if isinstance(v, CardKind | DeductionOrder | ProductForm) else v) for k, v in data.items()}


class CreateProductSchema(ProductFieldsSchema):
    template_code = fields.String(validate=validate.Length(max=60))


class ReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    comment = fields.String(load_default="", validate=validate.Length(max=500))

    @ma.validates_schema
    def comment_on_reject(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("decision") == "reject" and not data.get("comment", "").strip():
            raise ma.ValidationError("驳回时请填写原因", field_name="comment")


class ListArgs(PageArgs):
    status = fields.String(load_default=None)


class FaceUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "卡面图片，PNG 或 JPEG；实体卡至少 1011×638 像素"})
