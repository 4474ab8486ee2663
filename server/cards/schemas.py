"""Request schemas of the counter's physical-card endpoints (activate, replace)."""

from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import Fen, Schema, StrictInt

CARD_NO_INPUT = validate.Length(min=1, max=19)


class ActivateSchema(Schema):
    store_id = StrictInt(required=True)
    #: What the till took; must equal the batch price.
    paid_fen = Fen(required=True)


class ReplaceSchema(Schema):
    #: An inactive printed card of the same product to hand over; omitted: a fresh number and secret.
    new_card_no = fields.String(load_default=None, allow_none=True, validate=CARD_NO_INPUT)


class ReportLostSchema(Schema):
    """No fields."""


class CounterCardSchema(Schema):
    """The console counter's forms name the card in the body (the API names it in the path)."""

    card_no = fields.String(required=True, validate=CARD_NO_INPUT)


class CounterActivateSchema(CounterCardSchema, ActivateSchema):
    pass


class CounterReplaceSchema(CounterCardSchema, ReplaceSchema):
    pass
