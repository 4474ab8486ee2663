"""Reports API: the summary of docs/api.md and its CSV / XLSX exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import marshmallow as ma
from flask import Response, jsonify, stream_with_context
from marshmallow import fields, validate
from openpyxl import Workbook

from server.auth import Principal, current_principal
from server.db import db
from server.errors import Forbidden
from server.merchants.permissions import Action, staff_action
from server.merchants.services import get_store
from server.reports import services
from server.schemas import Blueprint, Schema
from server.timeutil import shanghai_today

blueprint = Blueprint("reports", __name__, url_prefix="/api/v1/merchant/reports", description="报表")

MAX_DAYS = 366
#: Export sections: the report's lists, each a table.
SECTIONS = ("by_day", "by_store", "by_channel")


class SummaryArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    store_id = fields.Integer(load_default=None)

    @ma.post_load
    def default_range(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Default: the last 30 days up to today (Asia/Shanghai); at most a year."""
        today = shanghai_today()
        data["to"] = data["to"] or today
        data["from_"] = data["from_"] or date.fromordinal(data["to"].toordinal() - 29)
        if data["from_"] > data["to"]:
            raise ma.ValidationError("开始日期不能晚于结束日期", field_name="from")
        if (data["to"] - data["from_"]).days >= MAX_DAYS:
            raise ma.ValidationError("时间范围不能超过一年", field_name="from")
        return data


class ExportArgs(SummaryArgs):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    section = fields.String(load_default="by_day", validate=validate.OneOf(SECTIONS))


def scoped_summary(actor: Principal, first: date, last: date, store_id: int | None) -> dict[str, Any]:
    """The summary as ``actor`` may see it: store-bound staff see only their store."""
    if actor.store_id is not None:
        if store_id not in (None, actor.store_id):
            raise Forbidden("只能查看本门店的报表")
        store_id = actor.store_id
    if store_id is not None:
        get_store(db.session, actor.merchant_id, store_id)
    return services.summary(db.session, actor.merchant_id, first, last, store_id)


def export_response(report: dict[str, Any], section: str, file_format: str) -> Response:
    """One section of a report as CSV (streamed, UTF-8 with BOM for Excel) or XLSX."""
    rows = report[section]
    name = f"kabao-{section}-{report['from']}-{report['to']}"
    if file_format == "csv":
        return Response(stream_with_context(_with_bom(_csv_rows(rows))), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(section)
    if rows:
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append(list(row.values()))
    output = io.BytesIO()
    workbook.save(output)
    return Response(output.getvalue(),
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@blueprint.route("/summary", methods=["GET"])
@staff_action(Action.VIEW_REPORTS)
@blueprint.arguments(SummaryArgs, location="query")
def summary(args):
    return jsonify(scoped_summary(current_principal(), args["from_"], args["to"], args["store_id"]))


def _csv_rows(rows: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = list(rows[0]) if rows else []
    for values in [header, *([row[k] for k in header] for row in rows)]:
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@blueprint.route("/export", methods=["GET"])
@staff_action(Action.VIEW_REPORTS)
@blueprint.arguments(ExportArgs, location="query")
def export(args):
    """One section of the report as CSV or XLSX."""
    report = scoped_summary(current_principal(), args["from_"], args["to"], args["store_id"])
    return export_response(report, args["section"], args["format"])


def _with_bom(chunks: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from chunks
