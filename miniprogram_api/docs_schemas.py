"""Response schemas of the mini-program's views, for the OpenAPI document only (the views answer with
``jsonify``). Transactions are the open API's schema: one shape in the whole document."""

from __future__ import annotations

from marshmallow import fields

from server.openapi import DocSchema

_DT = {"allow_none": True}


class ConsumerLoginSchema(DocSchema):
    token = fields.String(required=True, metadata={"description": "用户令牌（不透明），Authorization: Bearer"})
    expires_in = fields.Integer(required=True)
    consumer_id = fields.Integer(required=True)


class MerchantRefSchema(DocSchema):
    merchant_id = fields.Integer()
    name = fields.String(required=True)


class WalletCardSchema(DocSchema):
    """A card as its holder sees it (docs/api.md Card)."""

    card_id = fields.Integer(required=True)
    card_no_masked = fields.String(required=True)
    merchant = fields.Nested(MerchantRefSchema, required=True)
    product = fields.Dict(required=True, metadata={"description": "卡种：product_id、name、kind 及其余卡种字段"})
    status = fields.String(required=True, metadata={
        "enum": ["active", "inactive", "frozen", "expired", "refunded", "transferred", "replaced"]})
    balance_fen = fields.Integer(required=True)
    principal_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer(required=True)
    remaining_uses = fields.Integer(allow_none=True, required=True)
    points = fields.Integer(allow_none=True, required=True)
    expires_at = fields.DateTime(required=True, **_DT)
    transferable = fields.Boolean(allow_none=True, required=True)
    face_image_url = fields.String()
    batch_id = fields.Integer(allow_none=True)
    activated_at = fields.DateTime(**_DT)


class WalletCardListSchema(DocSchema):
    items = fields.List(fields.Nested(WalletCardSchema), required=True)


class OfferSchema(DocSchema):
    batch_id = fields.Integer(required=True)
    name = fields.String(required=True)
    price_fen = fields.Integer(required=True)
    issue_method = fields.String(required=True)
    remaining = fields.Integer(required=True)
    status = fields.String()
    per_user_limit = fields.Integer(allow_none=True)
    sale_start = fields.DateTime(**_DT)
    sale_end = fields.DateTime(**_DT)
    region_codes = fields.List(fields.String(), allow_none=True)
    product = fields.Dict(required=True)
    merchant = fields.Nested(MerchantRefSchema, required=True)


class RevealedSecretSchema(DocSchema):
    card_no = fields.String(required=True)
    secret = fields.String(required=True)


class DynamicCodeSchema(DocSchema):
    qr_payload = fields.String(required=True, metadata={"example": "KB1:…"})
    numeric_code = fields.String(required=True, metadata={"description": "18 位数字码"})
    expires_in = fields.Integer(required=True)
    qr_png_url = fields.String(required=True, metadata={"description": "GET 返回 image/png"})


class TransferOfferSchema(DocSchema):
    transfer_token = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class TierOptionSchema(DocSchema):
    amount_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer(required=True)
    within_cap = fields.Boolean(required=True)


class TopUpOptionsSchema(DocSchema):
    enabled = fields.Boolean(required=True)
    tiers = fields.List(fields.Nested(TierOptionSchema), required=True)
    allow_custom = fields.Boolean(required=True)
    min_fen = fields.Integer(allow_none=True)
    max_fen = fields.Integer(allow_none=True)
    cap_fen = fields.Integer(required=True)
    room_fen = fields.Integer(required=True)


class PayParamsSchema(DocSchema):
    """wx.requestPayment's arguments."""

    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String(metadata={"enum": ["MD5", "HMAC-SHA256", "RSA"]})
    paySign = fields.String()


class PaymentOrderSchema(DocSchema):
    order_no = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer()
    pay_params = fields.Nested(PayParamsSchema, required=True)


class RefundQuoteSchema(DocSchema):
    card_id = fields.Integer(required=True)
    refund_fen = fields.Integer(required=True)
    fee_fen = fields.Integer(required=True)
    forfeited_bonus_fen = fields.Integer(required=True)
    cooling_off = fields.Boolean()
    principal_fen = fields.Integer()
    bonus_fen = fields.Integer()


class CardRefundSchema(DocSchema):
    refund_no = fields.String(required=True)
    refund_fen = fields.Integer(required=True)
    fee_fen = fields.Integer(required=True)
    forfeited_bonus_fen = fields.Integer(required=True)
    status = fields.String(required=True)


class RewardSchema(DocSchema):
    reward_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["goods", "stored_value", "uses"]})
    points_price = fields.Integer(required=True)
    stock = fields.Integer(required=True)
    value_fen = fields.Integer(required=True)
    uses = fields.Integer(required=True)


class RewardListSchema(DocSchema):
    items = fields.List(fields.Nested(RewardSchema), required=True)
    points = fields.Integer(required=True, metadata={"description": "卡内可用积分"})


class RewardExchangeSchema(DocSchema):
    exchange_id = fields.Integer(required=True)
    reward_id = fields.Integer(required=True)
    reward_name = fields.String(required=True)
    kind = fields.String(required=True)
    points_spent = fields.Integer(required=True)
    value_fen = fields.Integer(required=True)
    uses = fields.Integer(required=True)
    card_id = fields.Integer(required=True)
    card_no_masked = fields.String(required=True)
    points_balance = fields.Integer(required=True)
    balance_fen = fields.Integer(required=True)
    remaining_uses = fields.Integer(required=True)


class WeChatCardSchema(DocSchema):
    """What ``wx.addCard`` needs for one card."""

    cardId = fields.String(required=True)
    cardExt = fields.String(required=True, metadata={"description": "JSON：timestamp、nonce_str、code、signature"})
    status = fields.String(required=True)


class WeChatCardAddedSchema(DocSchema):
    status = fields.String(required=True)
