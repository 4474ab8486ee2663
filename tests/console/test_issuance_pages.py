"""Console pages of issuance: channels, batches with MOFCOM warnings and dual approval, code downloads."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.db import db
from server.issuance.models import Batch, Channel
from tests import issuance_support
from tests.console.helpers import alerts, post_form


def _batch_form(product_id: int, channel_id: int, **changes: str) -> dict[str, str]:
    form = {"product_id": str(product_id), "channel_id": str(channel_id), "name": "开业储值卡", "quantity": "20",
            "price_fen": "1000", "issue_method": "purchase", "per_user_limit": "", "sale_start": "", "sale_end": "",
            "region_codes": ""}
    return {**form, **changes}


def _batches(app) -> list[Batch]:
    with app.app_context():
        return list(db.session.scalars(select(Batch).order_by(Batch.id)))


def test_owner_creates_a_channel_with_its_cost_in_yuan(app, staff_client):
    owner = staff_client("owner")
    response = post_form(owner, "/console/channels", {"name": "地推-人民广场", "kind": "offline",
                                                      "cost_per_card_fen": "1.5"})
    assert response.status_code == 303 and response.headers["Location"] == "/console/channels"
    with app.app_context():
        channel = db.session.scalar(select(Channel))
        assert (channel.name, channel.kind, channel.cost_per_card_fen, channel.allow_coupon_stacking) == (
            "地推-人民广场", "offline", 150, False)
    page = owner.get("/console/channels").get_data(as_text=True)
    assert "地推-人民广场" in page and "线下地推" in page and "¥1.50" in page and "渠道「地推-人民广场」已创建" in page

    refused = post_form(owner, "/console/channels", {"name": "", "kind": "offline", "cost_per_card_fen": "1.234"})
    assert refused.status_code == 400
    assert alerts(refused)[1:] == ["必填", "请输入金额（元），最多两位小数"]
    assert 'value="1.234"' in refused.get_data(as_text=True)


def test_the_batch_form_offers_published_products_only(staff_client, make_product, shop, app):
    published = make_product(status="published", name="已发布储值卡", face_value_fen=100000)
    make_product(status="draft", name="草稿卡")
    owner = staff_client("owner")
    assert "去新建渠道" in owner.get("/console/batches/new").get_data(as_text=True)
    issuance_support.channel(app, shop.merchant_id, name="小程序")
    page = owner.get("/console/batches/new").get_data(as_text=True)
    assert re.findall(r'<option value="(\d+)"[^>]*>[^<]*储值卡', page) == [str(published)]
    assert "草稿卡" not in page


def test_a_prepaid_batch_waits_for_operations_and_finance(app, staff_client, make_product, shop):
    product_id = make_product(status="published", face_value_fen=100000)
    channel_id = issuance_support.channel(app, shop.merchant_id)
    owner = staff_client("owner")
    created = post_form(owner, "/console/batches", _batch_form(product_id, channel_id))
    [batch] = _batches(app)
    assert created.status_code == 303 and created.headers["Location"] == f"/console/batches/{batch.id}"
    assert (batch.status, batch.price_fen, batch.quantity, batch.region_codes) == ("pending_approval", 100000, 20, [])

    detail = owner.get(f"/console/batches/{batch.id}").get_data(as_text=True)
    assert "须经运营与财务审批后开始发行" in detail and "待审批" in detail
    assert 'data-code="BATCH_REAL_NAME_REQUIRED"' in detail  # ¥1,000 × 20 cards to one buyer ≥ ¥10,000
    assert "审批通过</button>" in detail

    manager = staff_client("manager").get(f"/console/batches/{batch.id}").get_data(as_text=True)
    assert "审批通过</button>" not in manager  # a manager gives neither approval

    operations = staff_client("operations")
    approved = post_form(operations, f"/console/batches/{batch.id}/approve", follow_redirects=True)
    page = approved.get_data(as_text=True)
    assert "已记录审批，等待另一角色审批" in page
    assert re.search(r'data-approval="operations">\s*<td>运营审批</td>\s*<td>✓ staff', page)

    again = post_form(operations, f"/console/batches/{batch.id}/approve")
    assert again.status_code == 409 and alerts(again)[0] == "您的角色已完成审批，还需另一角色审批"

    finance = post_form(staff_client("finance"), f"/console/batches/{batch.id}/approve", follow_redirects=True)
    assert "审批完成，批次已开始发行" in finance.get_data(as_text=True)
    assert _batches(app)[0].status == "active"
    assert "审批通过</button>" not in owner.get(f"/console/batches/{batch.id}").get_data(as_text=True)
    listed = owner.get("/console/batches?status=active").get_data(as_text=True)
    assert f'data-batch-id="{batch.id}"' in listed and "已售出 0" in listed


def test_refused_batches_show_each_field_message(app, staff_client, make_product, shop):
    product_id = make_product(status="published", face_value_fen=10000)
    channel_id = issuance_support.channel(app, shop.merchant_id)
    owner = staff_client("owner")
    refused = post_form(owner, "/console/batches", _batch_form(
        product_id, channel_id, name="", price_fen="12.345", quantity="abc", region_codes="310101, 12"))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    beside = (r'name="(\w+)"[^>]*>(?:\s*<p class="hint">[^<]*</p>)?<p class="field-error" id="error-[^"]+" '
              r'role="alert">([^<]+)')
    messages = dict(re.findall(beside, html))
    assert messages["name"] == "必填" and messages["price_fen"] == "请输入金额（元），最多两位小数"
    assert messages["quantity"] == "必须是整数"
    assert 'id="error-region_codes[1]" role="alert">应为 6 位 GB/T 2260 行政区划代码' in html
    assert 'value="310101, 12"' in html and _batches(app) == []
    # every problem at once, in a summary linking to each message
    summary = re.search(r'<div class="alert alert-error error-summary".*?</div>', html, re.S)[0]
    assert "请修改以下 4 处后重新提交" in summary and "请求参数有误" not in html
    for field in ("name", "price_fen", "quantity", "region_codes[1]"):
        assert f'href="#error-{field}"' in summary and f'id="error-{field}"' in html

    mixed = post_form(owner, "/console/batches", _batch_form(
        product_id, channel_id, issue_method="claim", price_fen="5", quantity="0", sale_end="2001-01-01T10:00"))
    mixed_messages = dict(re.findall(beside, mixed.get_data(as_text=True)))
    assert mixed_messages["price_fen"] == "免费领取批次的价格应为 0"
    assert mixed_messages["sale_end"] == "发行结束时间已过"
    assert "quantity" in mixed_messages

    too_dear = post_form(owner, "/console/batches", _batch_form(product_id, channel_id, price_fen="100.01"))
    assert too_dear.status_code == 400 and "储值卡的售价不能高于面值" in alerts(too_dear)


def test_code_batches_download_their_codes_once_as_csv(app, staff_client, make_product, shop):
    product_id = make_product("cafe_points", status="published")
    channel_id = issuance_support.channel(app, shop.merchant_id)
    operations = staff_client("operations")
    post_form(operations, "/console/batches", _batch_form(product_id, channel_id, issue_method="code", price_fen="0",
                                                          quantity="5"))
    [batch] = _batches(app)
    assert batch.status == "active"  # a points card is no prepaid card: no approval

    download = post_form(operations, f"/console/batches/{batch.id}/codes", {"count": "3"})
    assert download.status_code == 201 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == f'attachment; filename="batch-{batch.id}-codes.csv"'
    lines = download.get_data(as_text=True).split("\r\n")
    assert lines[0] == "code" and len(lines) == 5 and lines[-1] == ""
    assert all(re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{16}", code) for code in lines[1:4])

    detail = operations.get(f"/console/batches/{batch.id}").get_data(as_text=True)
    assert re.search(r'data-figure="codes">3<', detail) and "未使用 3" in detail and "还可生成 2 个" in detail
    too_many = post_form(operations, f"/console/batches/{batch.id}/codes", {"count": "3"})
    assert too_many.status_code == 409 and alerts(too_many)[0] == "兑换码总数不能超过批次数量，还可生成 2 个"
    assert "生成兑换码" in too_many.get_data(as_text=True)  # shown on the batch page
