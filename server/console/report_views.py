"""The reports page: the summary of docs/api.md for a date range and store, its chart, tables and downloads.

The downloads are the reports API's own export answer (CSV streamed, or XLSX), so both give the
same files.
"""

from __future__ import annotations

from flask import Response, g, render_template, request

from server.console.auth import console_login_required
from server.console.forms import given, load_form
from server.console.merchant_views import blueprint
from server.console.reporting import chart, report
from server.db import db
from server.merchants import services as merchants
from server.merchants.permissions import Action
from server.reports.exports import export_response
from server.reports.schemas import SECTIONS, ExportArgs, SummaryArgs


@blueprint.get("/reports")
@console_login_required(Action.VIEW_REPORTS)
def reports() -> str:
    """Default range: the last 30 days up to today (the API's default)."""
    args = load_form(SummaryArgs(), given(request.args))
    summary = report(args["from_"], args["to"], args["store_id"])
    return render_template("console/reports.html", report=summary, chart=chart(summary),
                           stores=merchants.list_stores(db.session, g.principal), sections=SECTIONS)


@blueprint.get("/reports/export")
@console_login_required(Action.VIEW_REPORTS)
def export_report() -> Response:
    args = load_form(ExportArgs(), given(request.args))
    return export_response(report(args["from_"], args["to"], args["store_id"]), args["section"],
                                       args["format"])
