"""A report section as a file for people: Chinese column headers, money in yuan, rates in percent —
CSV (streamed, UTF-8 with BOM for Excel) or XLSX (numbers Excel can add up). The JSON API keeps fen.

Amounts become yuan by integer arithmetic (Decimal in XLSX), never through a float.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

#: The figures of a row of by_day / by_store, in the order the reports page shows them.
_ACTIVITY = [
    ("card_sale_fen", "售卡收入（元）"),
    ("top_up_fen", "充值本金（元）"),
    ("bonus_issued_fen", "赠送金额（元）"),
    ("redeemed_fen", "核销金额（元）"),
    ("redeemed_principal_fen", "其中核销本金（元）"),
    ("redeemed_bonus_fen", "其中核销赠送（元）"),
    ("reversed_fen", "冲正金额（元）"),
    ("net_redeemed_fen", "净核销（元）"),
    ("refunded_fen", "退款（元）"),
]

#: Section → [(field, Chinese header)].
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "by_day": [("date", "日期"), *_ACTIVITY],
    "by_store": [("store_name", "门店"), *_ACTIVITY],
    "by_channel": [
        ("name", "渠道"),
        ("cards_issued", "发卡数（张）"),
        ("cards_activated", "激活数（张）"),
        ("cards_redeemed", "已核销卡数（张）"),
        ("activation_rate_bp", "激活率"),
        ("redemption_rate_bp", "核销率"),
        ("cost_per_card_fen", "单卡获客成本（元）"),
        ("channel_cost_fen", "渠道成本（元）"),
        ("cost_per_active_card_fen", "每张激活卡成本（元）"),
        ("card_sale_fen", "售卡收入（元）"),
        ("top_up_fen", "充值本金（元）"),
        ("redeemed_fen", "核销金额（元）"),
        ("net_redeemed_fen", "净核销（元）"),
    ],
}

#: File names people recognise.
SECTION_NAMES = {"by_day": "按日", "by_store": "按门店", "by_channel": "按渠道"}


def yuan_text(fen: int) -> str:
    """1234 → "12.34", -5 → "-0.05"."""
    yuan, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{yuan}.{cents:02d}"


def percent_text(basis_points: int) -> str:
    """3750 → "37.50%"."""
    return f"{basis_points // 100}.{basis_points % 100:02d}%"


def _text(field: str, value: Any) -> Any:
    if value is None:
        return ""
    if field.endswith("_fen"):
        return yuan_text(value)
    if field.endswith("_bp"):
        return percent_text(value)
    return value


def export_rows(report: dict[str, Any], section: str) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of one section as people read them (yuan and percent as text)."""
    columns = COLUMNS[section]
    return ([header for _, header in columns],
            [[_text(field, row.get(field)) for field, _ in columns] for row in report[section]])


def export_response(report: dict[str, Any], section: str, file_format: str) -> Response:
    """One section of a report as CSV (streamed, UTF-8 with BOM for Excel) or XLSX."""
    name = f"kabao-{section}-{report['from']}-{report['to']}"
    if file_format == "csv":
        header, rows = export_rows(report, section)
        return Response(stream_with_context(_with_bom(_csv_rows([header, *rows]))),
                        content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SECTION_NAMES[section])
    columns = COLUMNS[section]
    sheet.append([header for _, header in columns])
    for row in report[section]:
        sheet.append([_cell(sheet, field, row.get(field)) for field, _ in columns])
    output = io.BytesIO()
    workbook.save(output)
    return Response(output.getvalue(),
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def _cell(sheet: Any, field: str, value: Any) -> Any:
    """Yuan as an exact decimal number shown with two places; a rate as a percentage."""
    if value is None:
        return None
    if field.endswith("_fen"):
        cell = WriteOnlyCell(sheet, value=Decimal(value) / 100)
        cell.number_format = "#,##0.00"
        return cell
    if field.endswith("_bp"):
        cell = WriteOnlyCell(sheet, value=Decimal(value) / 10000)
        cell.number_format = "0.00%"
        return cell
    return value


def _csv_rows(rows: list[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in rows:
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_bom(chunks: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from chunks
