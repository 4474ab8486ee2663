"""Query arguments of the reports, shared by the API and the console."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from server.schemas import Schema
from server.timeutil import shanghai_today

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
