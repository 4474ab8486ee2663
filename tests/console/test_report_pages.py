"""The dashboard's figures and chart, and the reports page with its downloads, over the reports API's code."""

from __future__ import annotations

import io
import re
import uuid

from openpyxl import load_workbook

from server.db import db
from server.merchants.models import Merchant
from tests import factories
from tests.console.helpers import csrf_token


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]+)<', html)[1]


def _redeem(client, counter, card_id: int, amount: str, store_id: int):
    return client.post("/console/redeem", json={"code": counter.code(card_id)["qr"], "store_id": str(store_id),
                                                "amount_fen": amount},
                       headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json",
                                "Idempotency-Key": str(uuid.uuid4())})


def test_the_dashboard_shows_today_this_month_and_the_chart(staff_client, counter):
    owner = staff_client("owner")
    before = owner.get("/console/").get_data(as_text=True)
    assert _figure(before, "today-redeemed") == "¥0.00" and _figure(before, "today-cards") == "0 张"

    card_id = counter.card(principal_fen=30000, bonus_fen=5000)
    assert _redeem(staff_client("cashier"), counter, card_id, "100", counter.shop.store_id).status_code == 200
    after = owner.get("/console/").get_data(as_text=True)
    assert _figure(after, "today-redeemed") == "¥90.00" and _figure(after, "month-redeemed") == "¥90.00"
    assert _figure(after, "today-cards") == "1 张" and _figure(after, "month-cards") == "1 张"
    assert _figure(after, "outstanding") == "¥260.00"
    svg = re.search(r"<svg .*?</svg>", after, flags=re.S)[0]
    assert re.search(r'<title id="chart-title">\d{4}-\d\d-\d\d 至 \d{4}-\d\d-\d\d 每日充值与核销</title>', svg)
    assert svg.count('class="bar"') == 60 and "核销合计 ¥90.00" in svg


def test_roles_without_reports_see_no_figures(staff_client):
    cashier = staff_client("cashier").get("/console/").get_data(as_text=True)
    assert "经营数据" not in cashier and "<svg" not in cashier


def test_the_report_page_filters_by_store_and_dates(staff_client, counter):
    card_id = counter.card(principal_fen=30000)
    owner = staff_client("owner")
    _redeem(owner, counter, card_id, "100", counter.shop.store_id)
    _redeem(owner, counter, card_id, "50", counter.shop.other_store_id)  # region 540102: 80%

    everything = owner.get("/console/reports").get_data(as_text=True)
    assert _figure(everything, "redeemed") == "¥130.00" and "<svg" in everything
    assert re.search(r"<td>一号店</td><td>¥0.00</td><td>¥0.00</td><td>¥0.00</td>\s*<td>¥90.00</td><td>¥0.00</td>"
                     r"<td>¥90.00</td>", everything)
    assert _figure(everything, "card-sale") == "¥300.00" and _figure(everything, "net-redeemed") == "¥130.00"
    one_store = owner.get(f"/console/reports?store_id={counter.shop.other_store_id}&from=&to=").get_data(as_text=True)
    assert _figure(one_store, "redeemed") == "¥40.00" and "二号店" in one_store
    assert _figure(owner.get("/console/reports?from=2001-01-01&to=2001-01-31").get_data(as_text=True),
                   "redeemed") == "¥0.00"

    reversed_range = owner.get("/console/reports?from=2001-02-01&to=2001-01-01")
    assert reversed_range.status_code == 400 and "开始日期不能晚于结束日期" in reversed_range.get_data(as_text=True)


def test_a_store_manager_reports_on_their_store_only(app, staff_client, counter):
    with app.app_context():
        merchant = db.session.get(Merchant, counter.shop.merchant_id)
        manager = factories.staff(db.session, merchant, "manager", store_id=counter.shop.store_id)
        db.session.commit()
        manager_id = manager.id
    card_id = counter.card(principal_fen=30000)
    owner = staff_client("owner")
    _redeem(owner, counter, card_id, "100", counter.shop.store_id)
    _redeem(owner, counter, card_id, "50", counter.shop.other_store_id)

    client = staff_client("manager", staff_id=manager_id, store_id=counter.shop.store_id)
    page = client.get("/console/reports").get_data(as_text=True)
    assert _figure(page, "redeemed") == "¥90.00" and 'name="store_id"' not in page
    refused = client.get(f"/console/reports?store_id={counter.shop.other_store_id}")
    assert refused.status_code == 403 and "只能查看本门店的报表" in refused.get_data(as_text=True)


def test_downloads_are_the_apis_csv_and_xlsx(staff_client, counter):
    card_id = counter.card(principal_fen=30000)
    finance = staff_client("finance")
    _redeem(staff_client("owner"), counter, card_id, "100", counter.shop.store_id)
    page = finance.get("/console/reports").get_data(as_text=True)
    links = re.findall(r'href="(/console/reports/export\?[^"]+)"', page)
    assert len(links) == 6

    csv_link = next(link for link in links if "section=by_store" in link and "format=csv" in link)
    csv = finance.get(csv_link.replace("&amp;", "&"))
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeff门店,售卡收入（元）,") and "\r\n一号店,0.00,0.00,0.00,90.00," in text

    xlsx_link = next(link for link in links if "section=by_day" in link and "format=xlsx" in link)
    xlsx = finance.get(xlsx_link.replace("&amp;", "&"))
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "日期" and len(rows) == 31 and rows[-1][4] == 90
