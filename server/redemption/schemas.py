"""Request bodies and query arguments of redemption, shared by the API and the console's counter."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.pagination import PageArgs
from server.schemas import Fen, Schema, StrictInt


class RedeemSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    store_id = StrictInt(required=True)
    amount_fen = Fen(load_default=0)
    uses = StrictInt(load_default=1, validate=validate.Range(min=1, max=1000))
    redeem_points = StrictInt(load_default=0, validate=validate.Range(min=0))


class PreviewSchema(Schema):
    """A scanned code to look up before redeeming it (the counter's preview)."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    store_id = StrictInt(required=True)


class ReverseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RedemptionListArgs(PageArgs):
    store_id = fields.Integer(load_default=None)
    staff_id = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["completed", "reversed"]))
    date = fields.Date(load_default=None)
    to = fields.Date(load_default=None, data_key="to")
    from_ = fields.Date(load_default=None, data_key="from")

    @ma.validates_schema
    def one_range(self, data, **kwargs) -> None:
        if data.get("date") and (data.get("from_") or data.get("to")):
            raise ma.ValidationError("date 与 from/to 只能二选一", field_name="date")
