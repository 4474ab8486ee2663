"""Request schemas of the API-key and open endpoints, and the response schemas that document them.

Responses are built by the services as plain dicts; the response schemas below only describe them in
the OpenAPI document (integrators generate clients from it), they are not used to serialise.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.open.models import Mode, Scope
from server.openapi import DocSchema, ErrorBodySchema, ErrorEnvelopeSchema
from server.schemas import Fen, Schema, StrictInt

#: Largest id a row can have (64-bit), and the largest amount a fen column holds (32-bit).
MAX_ID = 2**63 - 1
MAX_FEN = 2**31 - 1
#: Printable ASCII, as idempotency keys: the merchant's order numbers and member ids.
PRINTABLE = validate.Regexp(r"^[\x21-\x7e]{1,64}\Z", error="应为 1–64 个可打印字符（不含空格）")
#: Free text without control characters (NUL included).
NO_CONTROL = validate.Regexp(r"^[^\x00-\x1f\x7f]*\Z", error="不能包含控制字符")
CARD_NO = validate.Regexp(r"^[0-9]{8,19}\Z", error="卡号应为 8–19 位数字")
MOBILE = validate.Regexp(r"^\+?[0-9]{6,20}\Z", error="手机号格式不正确")


def _id(**kwargs) -> StrictInt:
    return StrictInt(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _amount(**kwargs) -> Fen:
    return Fen(validate=validate.Range(min=1, max=MAX_FEN), **kwargs)


# --- API keys ------------------------------------------------------------------------------------


class ApiKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), NO_CONTROL])
    scopes = fields.List(fields.String(validate=validate.OneOf([s.value for s in Scope])), required=True,
                         validate=validate.Length(min=1, max=len(Scope)))
    mode = fields.String(required=True, validate=validate.OneOf([m.value for m in Mode]))


class ApiKeySchema(DocSchema):
    api_key_id = fields.Integer()
    name = fields.String()
    scopes = fields.List(fields.String())
    mode = fields.String(metadata={"enum": [m.value for m in Mode]})
    key_prefix = fields.String(metadata={"example": "kb_live_AbCd"})
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True, metadata={"description": "最近一次调用（精确到分钟）"})
    revoked_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"enum": ["active", "revoked"]})


class CreatedApiKeySchema(ApiKeySchema):
    key = fields.String(metadata={"description": "完整密钥，仅在创建时返回这一次", "example": "kb_live_…"})


class ApiKeyPageSchema(DocSchema):
    items = fields.List(fields.Nested(ApiKeySchema))
    next_cursor = fields.String(allow_none=True)


# --- open API requests ---------------------------------------------------------------------------


class MemberInputSchema(Schema):
    external_id = fields.String(required=True, validate=PRINTABLE,
                                metadata={"description": "商户自有系统中的会员 ID"})
    name = fields.String(load_default=None, validate=[validate.Length(min=1, max=50), NO_CONTROL])
    mobile = fields.String(load_default=None, validate=MOBILE)


class IssueCardSchema(Schema):
    batch_id = _id(required=True)
    member = fields.Nested(MemberInputSchema, required=True)


class MemberQuerySchema(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    external_id = fields.String(required=True, validate=PRINTABLE)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=40))


class OpenTopUpSchema(Schema):
    amount_fen = _amount(required=True)
    external_order_no = fields.String(required=True, validate=PRINTABLE)


class OpenRedeemSchema(Schema):
    card_no = fields.String(required=True, validate=CARD_NO)
    store_id = _id(required=True)
    amount_fen = Fen(load_default=0, validate=validate.Range(min=0, max=MAX_FEN))
    uses = StrictInt(load_default=1, validate=validate.Range(min=1, max=1000))
    redeem_points = StrictInt(load_default=0, validate=validate.Range(min=0, max=MAX_FEN))
    external_order_no = fields.String(load_default=None, validate=PRINTABLE)


class OpenReverseSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_CONTROL])


# --- open API responses --------------------------------------------------------------------------


class MemberSchema(DocSchema):
    external_id = fields.String()
    name = fields.String(allow_none=True)
    mobile_masked = fields.String(allow_none=True, metadata={"example": "138****1234"})


class CardSchema(DocSchema):
    """A card as staff see it, with its number and member."""

    card_id = fields.Integer()
    card_no = fields.String()
    card_no_masked = fields.String()
    merchant = fields.Dict()
    product = fields.Dict(metadata={"description": "卡种：product_id、name、kind 及其余卡种字段"})
    status = fields.String(metadata={"enum": ["active", "frozen", "expired", "refunded", "transferred"]})
    balance_fen = fields.Integer()
    principal_fen = fields.Integer()
    bonus_fen = fields.Integer()
    remaining_uses = fields.Integer()
    points = fields.Integer()
    expires_at = fields.DateTime(allow_none=True)
    transferable = fields.Boolean()
    face_image_url = fields.String()
    batch_id = fields.Integer(allow_none=True)
    activated_at = fields.DateTime(allow_none=True)
    owner = fields.Dict(allow_none=True, metadata={"description": "已绑定的小程序用户（脱敏）；未绑定为 null"})
    member = fields.Nested(MemberSchema, allow_none=True)


class IssuedCardSchema(CardSchema):
    bind_code = fields.String(metadata={"description": "绑卡码（20 位，单次有效）：持卡人在小程序 "
                                                       "POST /api/v1/mp/cards/bind 中输入"})


class CardPageSchema(DocSchema):
    items = fields.List(fields.Nested(CardSchema))
    next_cursor = fields.String(allow_none=True)


class TopUpResultSchema(DocSchema):
    top_up_id = fields.Integer()
    external_order_no = fields.String()
    amount_fen = fields.Integer()
    bonus_fen = fields.Integer()
    card = fields.Nested(CardSchema)


class ReceiptSchema(DocSchema):
    redemption_id = fields.Integer()
    card_id = fields.Integer()
    card_no_masked = fields.String()
    kind = fields.String()
    store_id = fields.Integer()
    bill_fen = fields.Integer()
    payable_fen = fields.Integer()
    deducted_fen = fields.Integer()
    deducted_principal_fen = fields.Integer()
    deducted_bonus_fen = fields.Integer()
    uses_deducted = fields.Integer()
    points_earned = fields.Integer()
    points_redeemed = fields.Integer()
    balance_fen = fields.Integer()
    principal_fen = fields.Integer()
    bonus_fen = fields.Integer()
    remaining_uses = fields.Integer()
    points_balance = fields.Integer()
    status = fields.String()
    created_at = fields.DateTime()
    external_order_no = fields.String(allow_none=True)


class ReversalSchema(DocSchema):
    reversal_id = fields.Integer()
    redemption = fields.Nested(ReceiptSchema)
    card = fields.Dict()


class TransactionSchema(DocSchema):
    id = fields.Integer()
    type = fields.String()
    principal_fen = fields.Integer()
    bonus_fen = fields.Integer()
    uses = fields.Integer()
    points = fields.Integer()
    balance_after_fen = fields.Integer()
    store_name = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TransactionPageSchema(DocSchema):
    items = fields.List(fields.Nested(TransactionSchema))
    next_cursor = fields.String(allow_none=True)


class ReportSchema(DocSchema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    store_id = fields.Integer(allow_none=True, metadata={"description": "查询的门店；全部门店为 null"})
    cards_issued = fields.Integer()
    top_up_fen = fields.Integer()
    bonus_issued_fen = fields.Integer()
    redeemed_fen = fields.Integer()
    redeemed_principal_fen = fields.Integer()
    redeemed_bonus_fen = fields.Integer()
    reversed_fen = fields.Integer()
    refunded_fen = fields.Integer()
    card_sale_fen = fields.Integer(metadata={"description": "售卡收入：开卡时收取的金额"})
    net_redeemed_fen = fields.Integer(metadata={"description": "核销净额：核销减冲正"})
    outstanding_principal_fen = fields.Integer()
    outstanding_bonus_fen = fields.Integer()
    outstanding_uses = fields.Integer()
    by_store = fields.List(fields.Dict())
    by_channel = fields.List(fields.Dict())
    by_day = fields.List(fields.Dict())


__all__ = ["ErrorBodySchema", "ErrorEnvelopeSchema"]  # the one error envelope of the document
