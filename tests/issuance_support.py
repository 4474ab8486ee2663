"""Builders for issuance tests: products, channels, batches and consumers straight in the database.

Each opens its own app context and commits, so API tests can use the ids right away.
"""

from __future__ import annotations

import itertools
from typing import Any

from server.consumers.models import Consumer
from server.db import db
from server.issuance.models import Batch, Channel
from server.merchants.models import Merchant
from tests import factories

_seq = itertools.count(1)

#: A stored-value product worth 100 yuan with numbers 6201… of 16 digits.
STORED_VALUE = {"kind": "stored_value", "face_value_fen": 10000, "card_no_rule": {"prefix": "6201", "length": 16},
                "validity": {"type": "permanent"}, "transferable": True}


def product(app, merchant_id: int, **fields: Any) -> int:
    with app.app_context():
        row = factories.product(db.session, db.session.get(Merchant, merchant_id), **{**STORED_VALUE, **fields})
        db.session.commit()
        return row.id


def channel(app, merchant_id: int, **fields: Any) -> int:
    with app.app_context():
        row = Channel(merchant_id=merchant_id, name=fields.pop("name", f"渠道{next(_seq)}"),
                      kind=fields.pop("kind", "miniprogram"), **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def batch(app, merchant_id: int, product_id: int | None = None, **fields: Any) -> int:
    """An active batch (claim by default) of a new stored-value product unless one is given."""
    product_id = product_id or product(app, merchant_id)
    channel_id = fields.pop("channel_id", None) or channel(app, merchant_id)
    with app.app_context():
        row = Batch(merchant_id=merchant_id, product_id=product_id, channel_id=channel_id,
                    name=fields.pop("name", f"批次{next(_seq)}"), quantity=fields.pop("quantity", 100),
                    issue_method=fields.pop("issue_method", "claim"), status=fields.pop("status", "active"), **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def consumer(app, openid: str | None = None) -> int:
    with app.app_context():
        row = Consumer(openid=openid or f"o-test-{next(_seq)}")
        db.session.add(row)
        db.session.commit()
        return row.id


def consumer_headers(issue_token, consumer_id: int) -> dict[str, str]:
    return issue_token(kind="consumer", id=consumer_id)


def reload(app, model, row_id: int):
    """A fresh copy of a row, detached, for assertions."""
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row
