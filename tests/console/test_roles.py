"""Every console route enforces the permission table, and menus show exactly what a role may open."""

from __future__ import annotations

import re

import pytest

from server.merchants.models import StaffRole
from server.merchants.permissions import Action, allowed
from tests.console.helpers import csrf_token

#: (method, path) → the actions one of which it needs: what the console promises, written out to catch a changed guard.
ROUTES: dict[tuple[str, str], tuple[Action, ...]] = {
    ("GET", "/console/"): (),
    ("GET", "/console/templates"): (Action.MANAGE_PRODUCTS,),
    ("GET", "/console/products/new?template_code=cafe_points"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/products"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/products/validate"): (Action.VIEW_PRODUCTS,),
    ("GET", "/console/products"): (Action.VIEW_PRODUCTS,),
    ("GET", "/console/products/1"): (Action.VIEW_PRODUCTS,),
    ("POST", "/console/products/1"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/products/1/face"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/products/1/submit"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/products/1/publish"): (Action.PUBLISH_PRODUCTS,),
    ("POST", "/console/products/1/retire"): (Action.PUBLISH_PRODUCTS,),
    ("GET", "/console/stores"): (Action.VIEW_STORES,),
    ("POST", "/console/stores"): (Action.MANAGE_STORES,),
    ("GET", "/console/staff"): (Action.VIEW_STAFF,),
    ("POST", "/console/staff"): (Action.MANAGE_STAFF,),
    ("GET", "/console/documents"): (Action.UPLOAD_DOCUMENTS,),
    ("POST", "/console/documents"): (Action.UPLOAD_DOCUMENTS,),
    ("GET", "/console/audit"): (Action.VIEW_AUDIT,),
    ("GET", "/console/channels"): (Action.VIEW_BATCHES,),
    ("POST", "/console/channels"): (Action.MANAGE_CHANNELS,),
    ("GET", "/console/batches"): (Action.VIEW_BATCHES,),
    ("GET", "/console/batches/new"): (Action.MANAGE_BATCHES,),
    ("POST", "/console/batches"): (Action.MANAGE_BATCHES,),
    ("GET", "/console/batches/1"): (Action.VIEW_BATCHES,),
    ("POST", "/console/batches/1/approve"): (Action.APPROVE_AS_OPERATIONS, Action.APPROVE_AS_FINANCE),
    ("POST", "/console/batches/1/codes"): (Action.GENERATE_CODES,),
    ("GET", "/console/batches/1/print.pdf"): (Action.PRINT_CARDS,),
    ("GET", "/console/card-counter"): (Action.SELL_CARDS, Action.REPORT_LOST, Action.REPLACE_CARDS),
    ("POST", "/console/card-counter/activate"): (Action.SELL_CARDS,),
    ("POST", "/console/card-counter/report-lost"): (Action.REPORT_LOST,),
    ("POST", "/console/card-counter/replace"): (Action.REPLACE_CARDS,),
    ("GET", "/console/redeem"): (Action.REDEEM,),
    ("POST", "/console/redeem"): (Action.REDEEM,),
    ("POST", "/console/redeem/preview"): (Action.REDEEM,),
    ("GET", "/console/redemptions"): (Action.VIEW_REDEMPTIONS,),
    ("POST", "/console/redemptions/1/reverse"): (Action.REVERSE,),
    ("GET", "/console/reports"): (Action.VIEW_REPORTS,),
    ("GET", "/console/reports/export"): (Action.VIEW_REPORTS,),
    ("GET", "/console/api-keys"): (Action.MANAGE_API_KEYS,),
    ("POST", "/console/api-keys"): (Action.MANAGE_API_KEYS,),
    ("POST", "/console/api-keys/1/revoke"): (Action.MANAGE_API_KEYS,),
    ("GET", "/console/webhooks"): (Action.MANAGE_WEBHOOKS,),
    ("POST", "/console/webhooks"): (Action.MANAGE_WEBHOOKS,),
    ("POST", "/console/webhooks/1/delete"): (Action.MANAGE_WEBHOOKS,),
    ("GET", "/console/webhooks/1"): (Action.MANAGE_WEBHOOKS,),
    ("POST", "/console/webhooks/1/deliveries/1/redeliver"): (Action.MANAGE_WEBHOOKS,),
    ("GET", "/console/cards"): (Action.VIEW_CARDS,),
    ("GET", "/console/cards/6200000000000001"): (Action.VIEW_CARDS,),
    ("POST", "/console/cards/6200000000000001/freeze"): (Action.MANAGE_CARDS,),
    ("POST", "/console/cards/6200000000000001/unfreeze"): (Action.MANAGE_CARDS,),
    ("POST", "/console/cards/6200000000000001/reactivate"): (Action.REACTIVATE_CARDS,),
    ("POST", "/console/cards/6200000000000001/report-lost"): (Action.REPORT_LOST,),
    ("POST", "/console/cards/6200000000000001/exchange"): (Action.REDEEM,),
    ("GET", "/console/rewards"): (Action.VIEW_PRODUCTS,),
    ("POST", "/console/rewards"): (Action.MANAGE_PRODUCTS,),
    ("POST", "/console/test-mode/switch"): (Action.USE_TEST_MODE,),
    ("GET", "/console/test-mode"): (Action.USE_TEST_MODE,),
    ("POST", "/console/test-mode/buy"): (Action.USE_TEST_MODE,),
    ("POST", "/console/test-mode/cards/1/top-up"): (Action.USE_TEST_MODE,),
    ("POST", "/console/test-mode/cards/1/code"): (Action.USE_TEST_MODE,),
    ("POST", "/console/test-mode/cards/1/refund"): (Action.USE_TEST_MODE,),
    ("POST", "/console/test-mode/wipe"): (Action.WIPE_TEST_DATA,),
    ("GET", "/console/products/1/test-run"): (Action.TEST_PRODUCTS,),
    ("POST", "/console/products/1/test-run"): (Action.TEST_PRODUCTS,),
}
#: Menu entry → the page it opens.
MENU = {"概览": "/console/", "收银核销": "/console/redeem", "实体卡": "/console/card-counter",
        "核销记录": "/console/redemptions", "会员": "/console/cards", "积分兑换": "/console/rewards",
        "报表": "/console/reports", "模板库": "/console/templates", "卡种": "/console/products",
        "发行批次": "/console/batches", "渠道": "/console/channels", "门店": "/console/stores",
        "员工": "/console/staff", "资质文件": "/console/documents", "审计日志": "/console/audit",
        "API 密钥": "/console/api-keys",
        "事件回调": "/console/webhooks", "测试模式": "/console/test-mode"}


def _may(role: str, actions: tuple[Action, ...]) -> bool:
    return not actions or any(allowed(role, action) for action in actions)


def test_the_table_covers_every_guarded_console_route(app):
    guarded = {
        (method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint not in ("console.login", "console.login_submit", "console.logout", "console.regions_data",
                                  "console.signup", "console.signup_submit")
    }
    adapter = app.url_map.bind("localhost")
    listed = set()
    for (method, path), actions in ROUTES.items():
        rule, _ = adapter.match(path.split("?")[0], method=method, return_rule=True)
        listed.add((method, rule.rule))
        assert getattr(app.view_functions[rule.endpoint], "required_actions", None) == actions, (method, path)
    assert guarded == listed


@pytest.mark.parametrize("role", [role.value for role in StaffRole])
def test_each_role_is_refused_what_the_table_does_not_give_it(staff_client, role):
    client = staff_client(role)
    token = csrf_token(client)
    for (method, path), actions in ROUTES.items():
        response = client.open(path, method=method, data={"csrf_token": token})
        response.close()  # a download streams; finish it before the next request
        if _may(role, actions):
            assert response.status_code != 403, (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path)
            assert "当前角色无权访问此页面" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [role.value for role in StaffRole])
def test_menus_show_exactly_the_pages_a_role_may_open(staff_client, role):
    client = staff_client(role)
    html = client.get("/console/").get_data(as_text=True)
    shown = set(re.findall(r'<a href="[^"]+" data-menu="[^"]+"[^>]*>([^<]+)</a>', html))
    may_open = {title for title, path in MENU.items() if _may(role, ROUTES[("GET", path)])}
    assert shown == may_open
    for title, path in MENU.items():
        assert (client.get(path).status_code == 200) == (title in may_open), (role, path)


def test_a_cashier_sees_no_management_menu_and_buttons(staff_client):
    cashier = staff_client("cashier")
    html = cashier.get("/console/").get_data(as_text=True)
    for management in ("报表", "模板库", "卡种", "发行批次", "渠道", "员工", "资质文件", "审计日志"):
        assert f">{management}</a>" not in html
    assert cashier.get("/console/staff").status_code == 403
    stores = cashier.get("/console/stores").get_data(as_text=True)
    assert "新建门店" not in stores and "一号店" in stores and "二号店" not in stores


def test_finance_reads_products_without_edit_or_publish_buttons(staff_client, make_product):
    product_id = make_product(status="approved")
    finance = staff_client("finance").get(f"/console/products/{product_id}").get_data(as_text=True)
    assert "保存草稿" not in finance and ">发布</button>" not in finance and "data-validate-url" not in finance
    operations = staff_client("operations").get(f"/console/products/{product_id}").get_data(as_text=True)
    assert ">发布</button>" in operations
