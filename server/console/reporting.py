"""Report figures of the dashboard and the reports page, through the reports API's own store scoping
(a store-bound manager sees only their store), so the console shows exactly what the API reports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import g
from markupsafe import Markup

from server.console.charts import activity_chart
from server.db import db
from server.reports.services import scoped_summary

#: Days of the dashboard's chart, today included.
CHART_DAYS = 30


def report(first: date, last: date, store_id: int | None = None) -> dict[str, Any]:
    """The summary of docs/api.md for Shanghai days [first, last] as the signed-in staff member may see it."""
    return scoped_summary(db.session, g.principal, first, last, store_id)


def chart(summary: dict[str, Any]) -> Markup:
    return activity_chart(summary["by_day"], title=f"{summary['from']} 至 {summary['to']} 每日充值与核销")


def dashboard_figures(today: date) -> dict[str, Any]:
    """Today's and this month's activity (outstanding figures are as of now) and the last 30 days' chart."""
    return {
        "today": report(today, today),
        "month": report(today.replace(day=1), today),
        "chart": chart(report(today - timedelta(days=CHART_DAYS - 1), today)),
    }
