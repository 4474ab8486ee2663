"""A report section as a file: CSV (streamed, UTF-8 with BOM for Excel) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from openpyxl import Workbook


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


def _csv_rows(rows: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = list(rows[0]) if rows else []
    for values in [header, *([row[k] for k in header] for row in rows)]:
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_bom(chunks: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from chunks
