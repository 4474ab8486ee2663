"""Request bodies of points exchange, for the console's forms."""

from __future__ import annotations

from marshmallow import fields, validate

from server.rewards.models import RewardKind
from server.schemas import Fen, Schema, StrictInt


class ExchangeFormSchema(Schema):
    reward_id = StrictInt(required=True)
    store_id = StrictInt(required=True)


class RewardFormSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf([kind.value for kind in RewardKind]))
    points_price = StrictInt(required=True, validate=validate.Range(min=1, max=10_000_000))
    stock = StrictInt(required=True, validate=validate.Range(min=0, max=10_000_000))
    value_fen = Fen(load_default=0)
    uses = StrictInt(load_default=0, validate=validate.Range(min=0, max=1000))
