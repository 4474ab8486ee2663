"""Request schemas of the merchant onboarding, store and staff endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.merchants.identity import is_valid_mobile, is_valid_region_code, is_valid_uscc
from server.merchants.models import DocumentKind, MerchantKind, StaffRole
from server.schemas import Schema, StrictInt

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$", error="用户名为 3–64 位字母、数字或 _.-")
PASSWORD = validate.Length(min=8, max=128, error="密码长度应为 8–128 位")


def _check(predicate, message: str):
    def validator(value: str) -> None:
        if not predicate(value):
            raise ma.ValidationError(message)

    return validator


RegionCode = lambda **kw: fields.String(  # noqa: E731 - a field factory reads best inline
    validate=_check(is_valid_region_code, "应为 6 位 GB/T 2260 行政区划代码"), **kw
)


class RegisterSchema(Schema):
    merchant_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.Enum(MerchantKind, by_value=True, required=True)
    industry = fields.String(required=True, validate=validate.Length(min=1, max=40))
    region_code = RegionCode(required=True)
    license_no = fields.String(required=True, validate=_check(is_valid_uscc, "统一社会信用代码格式或校验位错误"))
    legal_person = fields.String(required=True, validate=validate.Length(min=1, max=50))
    contact_phone = fields.String(required=True, validate=_check(is_valid_mobile, "应为 11 位手机号"))
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class StoreSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    region_code = RegionCode(required=True)
    address = fields.String(load_default="", validate=validate.Length(max=200))


class StaffSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    role = fields.Enum(StaffRole, by_value=True, required=True)
    store_id = StrictInt(load_default=None, allow_none=True)


class DocumentFormSchema(Schema):
    kind = fields.Enum(DocumentKind, by_value=True, required=True)


class WeChatPaySchema(Schema):
    """PUT /platform/merchants/{id}/wechat-pay: the sub-merchant id WeChat Pay gave the merchant."""

    sub_mchid = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{8,32}$",
                                                                      error="子商户号应为 8–32 位数字"))
