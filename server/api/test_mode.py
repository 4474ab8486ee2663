"""Test mode over the staff API: a product's test run (上线前测试) and wiping the test data."""

from __future__ import annotations

from flask import current_app, jsonify
from marshmallow import fields

from server.auth import current_principal
from server.db import db
from server.extensions import get_redis
from server.merchants.permissions import Action, staff_action
from server.modes import Mode, use_mode
from server.openapi import DocSchema
from server.schemas import Blueprint
from server.testmode import services

blueprint = Blueprint("test_mode", __name__, url_prefix="/api/v1/merchant", description="测试模式")


class TestStepSchema(DocSchema):
    step = fields.String(required=True, metadata={"enum": list(services.STEP_NAMES)})
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True, metadata={"description": "该步骤的结果（中文）"})


class TestRunSchema(DocSchema):
    steps = fields.List(fields.Nested(TestStepSchema), required=True)
    passed = fields.Boolean(required=True)


class WipedSchema(DocSchema):
    removed = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "每张表删除的测试数据行数"})


@blueprint.route("/card-products/<int:product_id>/test-run", methods=["POST"])
@blueprint.alt_response(200, schema=TestRunSchema, success=True)
@staff_action(Action.TEST_PRODUCTS)
def test_run(product_id: int):
    """Purchase, top-up, redeem, reversal and refund in test mode, on the product's own test batch."""
    use_mode(db.session, Mode.TEST)
    return jsonify(services.run_test(db.session, get_redis(), current_app.config, current_principal(), product_id))


@blueprint.route("/test-data", methods=["DELETE"])
@blueprint.alt_response(200, schema=WipedSchema, success=True)
@staff_action(Action.WIPE_TEST_DATA)
def wipe_test_data():
    """Delete the merchant's test books; live data is never touched."""
    use_mode(db.session, Mode.TEST)
    return jsonify(removed=services.wipe(db.session, current_principal().merchant_id))
