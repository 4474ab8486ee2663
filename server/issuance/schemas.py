"""Request schemas of the channel, batch and redemption-code endpoints (merchant and mini-program)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from server.db import utcnow
from server.issuance.codes import MAX_CODES_PER_REQUEST
from server.issuance.models import BatchStatus, ChannelKind, IssueMethod
from server.merchants.schemas import RegionCode
from server.pagination import PageArgs
from server.schemas import Fen, Schema, StrictInt
from server.timeutil import SHANGHAI

#: Largest batch; a code batch's codes are generated in requests of at most MAX_CODES_PER_REQUEST.
MAX_BATCH_QUANTITY = 1_000_000
#: Largest physical batch: all its cards are created (numbers, encrypted secrets) in the approving request.
MAX_PHYSICAL_QUANTITY = 100_000
#: Free-form code input: codes are 16 characters, printed in groups with spaces or dashes.
CODE_INPUT = validate.Length(min=1, max=64)


def _plain(value: Any) -> Any:
    """Enum members back to the strings the columns store."""
    return value.value if isinstance(value, ChannelKind | IssueMethod | BatchStatus) else value


class CreateChannelSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.Enum(ChannelKind, by_value=True, required=True)
    allow_coupon_stacking = fields.Boolean(load_default=True)
    cost_per_card_fen = Fen(load_default=None, allow_none=True)

    @ma.post_load
    def plain_values(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {key: _plain(value) for key, value in data.items()}


class CreateBatchSchema(Schema):
    product_id = StrictInt(required=True)
    channel_id = StrictInt(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    quantity = StrictInt(required=True, validate=validate.Range(min=1, max=MAX_BATCH_QUANTITY))
    price_fen = Fen(required=True)
    issue_method = fields.Enum(IssueMethod, by_value=True, required=True)
    per_user_limit = StrictInt(load_default=None, allow_none=True, validate=validate.Range(min=1))
    #: Times without an offset are Shanghai time.
    sale_start = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=SHANGHAI)
    sale_end = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=SHANGHAI)
    region_codes = fields.List(RegionCode(), load_default=list)

    @ma.validates_schema(skip_on_field_errors=False)
    def consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Runs even when some fields are refused, so a form shows every problem at once."""
        errors = {}
        method, price = data.get("issue_method"), data.get("price_fen")
        if method == IssueMethod.CLAIM and price:
            errors["price_fen"] = "免费领取批次的价格应为 0"
        if method == IssueMethod.PURCHASE and price == 0:
            errors["price_fen"] = "购买批次的价格应大于 0"
        if method == IssueMethod.PHYSICAL and (data.get("quantity") or 0) > MAX_PHYSICAL_QUANTITY:
            errors["quantity"] = f"实体卡批次每批最多 {MAX_PHYSICAL_QUANTITY:,} 张"
        start, end = data.get("sale_start"), data.get("sale_end")
        if end is not None and end <= utcnow():
            errors["sale_end"] = "发行结束时间已过"
        elif start is not None and end is not None and end <= start:
            errors["sale_end"] = "发行结束时间应晚于开始时间"
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def plain_values(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {key: _plain(value) for key, value in data.items()}


class BatchListArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in BatchStatus]))
    product_id = fields.Integer(load_default=None)


class ApproveBatchSchema(Schema):
    """No fields: the caller's role decides which approval is given."""


class GenerateCodesSchema(Schema):
    count = StrictInt(required=True, validate=validate.Range(min=1, max=MAX_CODES_PER_REQUEST))


class VoidCodesSchema(Schema):
    """Either the codes to void, or ``all_unused: true`` for every unused code of the batch."""

    codes = fields.List(fields.String(validate=CODE_INPUT), validate=validate.Length(min=1, max=MAX_CODES_PER_REQUEST))
    all_unused = fields.Boolean(load_default=False)
    reason = fields.String(load_default="", validate=validate.Length(max=200))

    @ma.validates_schema
    def one_selection(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("codes" in data) == data.get("all_unused", False):
            raise ma.ValidationError("请提供 codes，或设置 all_unused 为 true（二选一）", field_name="codes")


class BulkBindUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "CSV，表头 code,openid"})


class BindCodeSchema(Schema):
    code = fields.String(required=True, validate=CODE_INPUT)
