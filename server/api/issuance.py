"""Merchant API of issuance: channels, batches, dual approval and redemption codes."""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify

from server.api import docs_schemas as docs
from server.auth import PrincipalKind, current_principal, require
from server.db import db
from server.extensions import get_redis
from server.issuance import codes as code_service
from server.issuance import services
from server.issuance.downloads import codes_download
from server.issuance.models import Batch, Channel, IssueMethod
from server.issuance.schemas import (
    ApproveBatchSchema,
    BatchListArgs,
    BulkBindUploadSchema,
    CreateBatchSchema,
    CreateChannelSchema,
    GenerateCodesSchema,
    VoidCodesSchema,
)
from server.issuance.serializers import batch_to_dict, channel_to_dict
from server.merchants.permissions import Action, roles_for, staff_action
from server.openapi import CSV
from server.pagination import PageArgs, paginate
from server.schemas import Blueprint

log = logging.getLogger(__name__)
blueprint = Blueprint("issuance", __name__, url_prefix="/api/v1/merchant", description="发行渠道、批次与兑换码")

#: Either approval permission reaches the endpoint; the service picks which approval the caller gives.
_APPROVERS = roles_for(Action.APPROVE_AS_OPERATIONS) | roles_for(Action.APPROVE_AS_FINANCE)


def _batch_json(batch: Batch, *, with_codes: bool = False):
    """The batch with its approvals; ``with_codes`` adds the codes by status of a code batch."""
    with_codes = with_codes and batch.issue_method == IssueMethod.CODE
    codes = code_service.code_counts(db.session, batch.id) if with_codes else None
    return batch_to_dict(batch, services.approvals_of(db.session, [batch.id])[batch.id], codes)


@blueprint.route("/channels", methods=["POST"])
@blueprint.alt_response(201, schema=docs.ChannelSchema, success=True)
@staff_action(Action.MANAGE_CHANNELS)
@blueprint.arguments(CreateChannelSchema)
def create_channel(body):
    return jsonify(channel_to_dict(services.create_channel(db.session, current_principal(), body))), 201


@blueprint.route("/channels", methods=["GET"])
@blueprint.alt_response(200, schema=docs.ChannelPageSchema, success=True)
@staff_action(Action.VIEW_BATCHES)
@blueprint.arguments(PageArgs, location="query")
def list_channels(args):
    stmt = services.list_channels(current_principal().merchant_id)
    return jsonify(paginate(db.session, stmt, Channel.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=channel_to_dict))


@blueprint.route("/batches", methods=["POST"])
@blueprint.alt_response(201, schema=docs.BatchSchema, success=True)
@staff_action(Action.MANAGE_BATCHES)
@blueprint.arguments(CreateBatchSchema)
def create_batch(body):
    """Prepaid products start pending_approval; ``warnings`` carry the MOFCOM thresholds."""
    return jsonify(_batch_json(services.create_batch(db.session, current_principal(), body,
                                                                current_app.config))), 201


@blueprint.route("/batches", methods=["GET"])
@blueprint.alt_response(200, schema=docs.BatchPageSchema, success=True)
@staff_action(Action.VIEW_BATCHES)
@blueprint.arguments(BatchListArgs, location="query")
def list_batches(args):
    stmt = services.list_batches(current_principal().merchant_id, status=args["status"], product_id=args["product_id"])
    page = paginate(db.session, stmt, Batch.id, limit=args["limit"], cursor=args["cursor"], serialize=lambda b: b)
    approvals = services.approvals_of(db.session, [batch.id for batch in page["items"]])
    page["items"] = [batch_to_dict(batch, approvals[batch.id]) for batch in page["items"]]
    return jsonify(page)


@blueprint.route("/batches/<int:batch_id>", methods=["GET"])
@blueprint.alt_response(200, schema=docs.BatchSchema, success=True)
@staff_action(Action.VIEW_BATCHES)
def get_batch(batch_id: int):
    """One batch with its issued count and, for code batches, codes by status."""
    return jsonify(_batch_json(services.get_batch(db.session, current_principal().merchant_id, batch_id),
                               with_codes=True))


@blueprint.route("/batches/<int:batch_id>/approve", methods=["POST"])
@blueprint.alt_response(200, schema=docs.BatchSchema, success=True)
@require(PrincipalKind.STAFF, roles=_APPROVERS)
@blueprint.arguments(ApproveBatchSchema)
def approve_batch(_body, batch_id: int):
    return jsonify(_batch_json(services.approve_batch(db.session, current_principal(), batch_id,
                                                                 current_app.config)))


@blueprint.route("/batches/<int:batch_id>/codes", methods=["POST"])
@blueprint.alt_response(201, schema=CSV, content_type="text/csv", success=True,
                        description="表头 code，每行一个兑换码：明文只在此出现一次")
@staff_action(Action.GENERATE_CODES)
@blueprint.arguments(GenerateCodesSchema)
def generate_codes(body, batch_id: int):
    """201 text/csv with header ``code``: the only time the plaintext codes exist."""
    return codes_download(db.session, get_redis(), current_app.config, current_principal(), batch_id, body["count"])


@blueprint.route("/batches/<int:batch_id>/codes/void", methods=["POST"])
@blueprint.alt_response(200, schema=docs.VoidedCodesSchema, success=True)
@staff_action(Action.GENERATE_CODES)
@blueprint.arguments(VoidCodesSchema)
def void_codes(body, batch_id: int):
    """Void listed codes (``codes``) or every unused one (``all_unused``); bound codes stay bound."""
    voided = code_service.void_codes(db.session, current_app.config, current_principal(), batch_id,
                                     None if body["all_unused"] else body["codes"], reason=body["reason"])
    batch = services.get_batch(db.session, current_principal().merchant_id, batch_id)
    return jsonify(voided=voided, batch=_batch_json(batch, with_codes=True))


@blueprint.route("/batches/<int:batch_id>/codes/bind", methods=["POST"])
@blueprint.alt_response(200, schema=CSV, content_type="text/csv", success=True,
                        description="每行 code_suffix,openid,result,card_id")
@staff_action(Action.BIND_CODES)
@blueprint.arguments(BulkBindUploadSchema, location="files")
def bulk_bind(files, batch_id: int):
    """Multipart ``file``: CSV ``code,openid`` → 200 CSV ``code_suffix,openid,result,card_id`` per row."""
    rows = code_service.parse_bulk_csv(files["file"].read())
    outcomes = code_service.bulk_bind(db.session, current_app.config, current_principal(), batch_id, rows)
    return Response(code_service.bulk_result_csv(outcomes), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-bind-results.csv"'})
