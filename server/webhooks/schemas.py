"""The body of a new webhook endpoint, shared by the API and the console."""

from __future__ import annotations

from marshmallow import fields, validate

from server.schemas import Schema
from server.webhooks.models import Mode


class CreateWebhookSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True)
    mode = fields.String(load_default=Mode.LIVE.value, validate=validate.OneOf([m.value for m in Mode]))
