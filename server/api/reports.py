"""Reports API: the summary of docs/api.md and its CSV / XLSX exports."""

from __future__ import annotations

from flask import jsonify

from server.auth import current_principal
from server.db import db
from server.merchants.permissions import Action, staff_action
from server.open import schemas as open_schemas
from server.openapi import BINARY, CSV, XLSX
from server.reports import services
from server.reports.exports import export_response
from server.reports.schemas import ExportArgs, SummaryArgs
from server.schemas import Blueprint

blueprint = Blueprint("reports", __name__, url_prefix="/api/v1/merchant/reports", description="报表")


@blueprint.route("/summary", methods=["GET"])
@blueprint.alt_response(200, schema=open_schemas.ReportSchema, success=True)
@staff_action(Action.VIEW_REPORTS)
@blueprint.arguments(SummaryArgs, location="query")
def summary(args):
    report = services.scoped_summary(db.session, current_principal(), args["from_"], args["to"], args["store_id"])
    return jsonify(report)


@blueprint.route("/export", methods=["GET"])
@blueprint.alt_response(200, schema=CSV, content_type="text/csv", success=True,
                        description="format=csv：UTF-8（带 BOM）")
@blueprint.alt_response(200, schema=BINARY, content_type=XLSX, success=True, description="format=xlsx")
@staff_action(Action.VIEW_REPORTS)
@blueprint.arguments(ExportArgs, location="query")
def export(args):
    """One section of the report as CSV or XLSX."""
    report = services.scoped_summary(db.session, current_principal(), args["from_"], args["to"], args["store_id"])
    return export_response(report, args["section"], args["format"])


