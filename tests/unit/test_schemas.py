"""The request schemas' storage bounds (server/schemas.py)."""

import marshmallow as ma
import pytest

from server.redemption.schemas import RedeemSchema
from server.schemas import Schema


class _Lists(Schema):
    store_ids = ma.fields.List(ma.fields.Integer())


def test_bounds_are_added_once_however_many_requests_were_parsed():
    """Every request builds its schema anew; the bounds must not pile up on the shared fields, or
    each request validates every earlier request's copies too and grows slower and bigger."""
    first = RedeemSchema()
    counts = {name: len(field.validators) for name, field in first.fields.items()}
    for _ in range(50):
        RedeemSchema()
        _Lists()
    assert {name: len(field.validators) for name, field in RedeemSchema().fields.items()} == counts
    assert len(_Lists().fields["store_ids"].inner.validators) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"code": "a\x00b", "store_id": 1}, "code"),
    ({"code": "x", "store_id": 2**63}, "store_id"),
    ({"code": "x", "store_id": 1, "amount_fen": 2**31}, "amount_fen"),
])
def test_values_the_database_cannot_store_are_refused(body, field):
    for _ in range(2):  # the second instance still carries the bounds
        with pytest.raises(ma.ValidationError) as refused:
            RedeemSchema().load(body)
        assert field in refused.value.messages
