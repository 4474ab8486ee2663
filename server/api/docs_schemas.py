"""Response schemas of the staff, platform and WeChat-callback views, for the OpenAPI document only.

The views answer with ``jsonify`` of their serializers (server/*/serializers.py); these schemas describe
those bodies (``@blueprint.alt_response(status, schema=…, success=True)`` documents without changing
what a view returns). Cards, receipts, reversals, transactions and the report are the open API's
schemas (server/open/schemas.py): one shape each in the whole document.
"""

from __future__ import annotations

from marshmallow import fields

from server.open.schemas import ReceiptSchema
from server.openapi import DocSchema


def _page(item: type[DocSchema], name: str) -> type[DocSchema]:
    """``{items: [...], next_cursor}`` of docs/api.md's lists."""
    return type(name, (DocSchema,), {
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(allow_none=True, required=True),
        "__doc__": "A page of a list: ``next_cursor`` is null on the last page.",
    })


_DT = {"allow_none": True}


# --- merchants, stores, staff, documents ---------------------------------------------------------


class RegisteredMerchantSchema(DocSchema):
    merchant_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending_review"]})


class StaffLoginSchema(DocSchema):
    token = fields.String(required=True, metadata={"description": "员工令牌（不透明），Authorization: Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "有效期（秒）"})
    merchant_id = fields.Integer(required=True)
    staff_id = fields.Integer(required=True)
    role = fields.String(required=True,
                         metadata={"enum": ["owner", "manager", "cashier", "finance", "operations"]})
    store_id = fields.Integer(allow_none=True, required=True)


class AdminLoginSchema(DocSchema):
    token = fields.String(required=True, metadata={"description": "平台管理员令牌（不透明）"})
    expires_in = fields.Integer(required=True)


class DocumentSchema(DocSchema):
    document_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={
        "enum": ["business_license", "legal_person_id", "company_seal", "fund_guarantee"]})
    content_type = fields.String(metadata={"enum": ["image/png", "image/jpeg"]})
    size_bytes = fields.Integer()
    url = fields.String(metadata={"description": "平台审核员查看原图：GET /api/v1/platform/documents/{id}"})
    created_at = fields.DateTime(**_DT)


class WeChatPayConfigSchema(DocSchema):
    sub_mchid = fields.String(allow_none=True, metadata={"description": "服务商模式下的特约商户号"})


class MerchantSchema(DocSchema):
    merchant_id = fields.Integer(required=True)
    merchant_name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["chain", "individual", "ecommerce"]})
    industry = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)
    license_no = fields.String(allow_none=True)
    legal_person = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["pending_review", "approved", "rejected"]})
    review_comment = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(**_DT)
    created_at = fields.DateTime(**_DT)
    wechat_pay = fields.Nested(WeChatPayConfigSchema)
    documents = fields.List(fields.Nested(DocumentSchema))


class StoreInfoSchema(DocSchema):
    store_id = fields.Integer(required=True)
    merchant_id = fields.Integer()
    name = fields.String(required=True)
    region_code = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime(**_DT)


class StaffMemberSchema(DocSchema):
    staff_id = fields.Integer(required=True)
    merchant_id = fields.Integer()
    username = fields.String(required=True)
    role = fields.String(required=True)
    store_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime(**_DT)


MerchantPageSchema = _page(MerchantSchema, "MerchantPageSchema")
StorePageSchema = _page(StoreInfoSchema, "StorePageSchema")
StaffPageSchema = _page(StaffMemberSchema, "StaffPageSchema")


# --- templates and products ----------------------------------------------------------------------


class FindingSchema(DocSchema):
    field = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)


class ValidationResultSchema(DocSchema):
    errors = fields.List(fields.Nested(FindingSchema), required=True)
    warnings = fields.List(fields.Nested(FindingSchema), required=True)


class TemplateSchema(DocSchema):
    code = fields.String(required=True)
    industry = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["stored_value", "count", "points", "discount"]})
    description = fields.String()
    defaults = fields.Dict(required=True, metadata={"description": "完整的卡种字段（见 docs/api.md Product fields）"})
    face_image_url = fields.String()


class TemplateListSchema(DocSchema):
    items = fields.List(fields.Nested(TemplateSchema), required=True)


class ProductSchema(DocSchema):
    """A card product: its status and validation, and every product field of docs/api.md."""

    product_id = fields.Integer(required=True)
    merchant_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={
        "enum": ["draft", "pending_review", "approved", "rejected", "published", "retired"]})
    template_code = fields.String(allow_none=True)
    review_comment = fields.String(allow_none=True)
    validation = fields.Nested(ValidationResultSchema, allow_none=True)
    face_image_url = fields.String()
    created_at = fields.DateTime(**_DT)
    updated_at = fields.DateTime(**_DT)
    test_run_passed_at = fields.DateTime(**_DT, metadata={"description": "上线前测试最近一次通过的时间"})
    last_test_run = fields.Dict(allow_none=True, metadata={"description": "最近一次上线前测试 {passed, at, steps}"})
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["stored_value", "count", "points", "discount"]})
    named = fields.Boolean(allow_none=True)
    face_value_fen = fields.Integer(allow_none=True)
    top_up = fields.Dict(allow_none=True)
    uses = fields.Integer(allow_none=True)
    service_name = fields.String(allow_none=True)
    discount_percent = fields.Integer(allow_none=True)
    points = fields.Dict(allow_none=True)
    min_spend_fen = fields.Integer(allow_none=True)
    validity = fields.Dict(allow_none=True)
    refund = fields.Dict(allow_none=True)
    transferable = fields.Boolean(allow_none=True)
    stackable_with_coupons = fields.Boolean(allow_none=True)
    store_scope = fields.Raw(allow_none=True, metadata={"description": '"all" 或门店 id 数组'})
    regional_discounts = fields.List(fields.Dict(), allow_none=True)
    card_no = fields.Dict(allow_none=True)
    deduction_order = fields.String(allow_none=True)
    terms = fields.String(allow_none=True)
    style = fields.Dict(allow_none=True)
    form = fields.String(allow_none=True, metadata={"enum": ["virtual", "physical"]})
    wechat_card = fields.Dict(allow_none=True, metadata={"description": "同步到微信卡包：{enabled}"})
    face_image = fields.String(allow_none=True, metadata={"description": "上传的卡面（实体卡印刷用）；未上传为 null"})


ProductPageSchema = _page(ProductSchema, "ProductPageSchema")


# --- issuance ------------------------------------------------------------------------------------


class ChannelSchema(DocSchema):
    channel_id = fields.Integer(required=True)
    merchant_id = fields.Integer()
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["miniprogram", "offline", "partner", "ecommerce"]})
    allow_coupon_stacking = fields.Boolean()
    cost_per_card_fen = fields.Integer(allow_none=True)
    created_at = fields.DateTime(**_DT)


class ApprovalSchema(DocSchema):
    role = fields.String(required=True)
    staff_id = fields.Integer(required=True)
    at = fields.DateTime(**_DT)


class CodeCountsSchema(DocSchema):
    unused = fields.Integer()
    bound = fields.Integer()
    void = fields.Integer()


class BatchSchema(DocSchema):
    batch_id = fields.Integer(required=True)
    merchant_id = fields.Integer()
    product_id = fields.Integer(required=True)
    channel_id = fields.Integer(required=True)
    name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    price_fen = fields.Integer(required=True)
    issue_method = fields.String(required=True, metadata={"enum": ["claim", "purchase", "code", "physical"]})
    per_user_limit = fields.Integer(allow_none=True)
    sale_start = fields.DateTime(**_DT)
    sale_end = fields.DateTime(**_DT)
    region_codes = fields.List(fields.String(), allow_none=True)
    status = fields.String(required=True)
    issued_count = fields.Integer()
    remaining = fields.Integer()
    codes_generated = fields.Integer()
    approvals = fields.List(fields.Nested(ApprovalSchema), required=True)
    warnings = fields.List(fields.Dict(), metadata={"description": "商务部预付卡实名/转账阈值提示"})
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime(**_DT)
    codes = fields.Nested(CodeCountsSchema, metadata={"description": "兑换码批次：各状态的码数"})


ChannelPageSchema = _page(ChannelSchema, "ChannelPageSchema")
BatchPageSchema = _page(BatchSchema, "BatchPageSchema")


class VoidedCodesSchema(DocSchema):
    voided = fields.Integer(required=True)
    batch = fields.Nested(BatchSchema, required=True)


# --- redemption and orders -----------------------------------------------------------------------


class RedemptionRowSchema(ReceiptSchema):
    staff_id = fields.Integer(allow_none=True)
    reversed_at = fields.DateTime(**_DT)
    reversal_reason = fields.String(allow_none=True)


RedemptionPageSchema = _page(RedemptionRowSchema, "RedemptionPageSchema")


class OrderSchema(DocSchema):
    order_no = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "paid", "closed", "refunded"]})
    amount_fen = fields.Integer(required=True)
    bonus_fen = fields.Integer(allow_none=True)
    card_id = fields.Integer(allow_none=True)
    purpose = fields.String()
    refunded_fen = fields.Integer(allow_none=True)
    created_at = fields.DateTime(**_DT)
    paid_at = fields.DateTime(**_DT)


class WeChatV3ReplySchema(DocSchema):
    code = fields.String(required=True, metadata={"enum": ["FAIL"]})
    message = fields.String(required=True)


#: WeChat Pay callbacks answer in WeChat's protocol, never in the error envelope.
V2_NOTIFY_RESPONSES = {200: {
    "description": "SUCCESS once processed (repeats too); FAIL with a reason for a bad signature, an unknown order "
                   "or an amount/appid/mch_id mismatch — and then nothing is credited",
    "content": {"application/xml": {"schema": {
        "type": "string", "example": "<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>"}}}}}
V3_NOTIFY_RESPONSES = {
    204: {"description": "processed (repeats too)"},
    400: {"description": "refused: bad signature, timestamp more than 5 minutes off, unknown order or an "
                         "amount/appid/mchid mismatch — nothing is credited",
          "content": {"application/json": {"schema": WeChatV3ReplySchema}}},
}
