"""The audit log in words and yuan with the caller's address; regions by name with a picker's data."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import server
from server.console.audit_log import TARGET_LABELS
from server.console.filters import LABELS
from tests.console.helpers import csrf_token, post_form

#: Where the code records an audit entry: ``record(..., action="x.y", ...)`` or a domain's ``audit(...)`` helper.
_ACTION = re.compile(r'action="([a-z_.]+)"|audit\(session, actor, (?:product, )?"([a-z_.]+)"')
_TARGET = re.compile(r'target_type="([a-z_]+)"|audit\(session, actor, "[a-z_.]+", "([a-z_]+)"')


def test_console_actions_are_audited_with_the_address_and_read_in_words(staff_client, counter):
    card_id = counter.card(principal_fen=10000)
    cashier = staff_client("cashier")
    receipt = cashier.post("/console/redeem", json={"code": counter.code(card_id)["qr"],
                                                    "store_id": str(counter.shop.store_id), "amount_fen": "12.50"},
                           headers={"X-CSRFToken": csrf_token(cashier), "Accept": "application/json",
                                    "Idempotency-Key": str(uuid.uuid4())},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"}).get_json()["receipt"]
    owner = staff_client("owner")
    post_form(owner, "/console/stores", {"name": "三号店", "region_code": "440305", "address": "深南大道 1 号"},
              environ_base={"REMOTE_ADDR": "198.51.100.9"})
    page = owner.get("/console/audit").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    redeemed = next(row for row in rows if "核销单 #" + str(receipt["redemption_id"]) in row)
    assert "应付：¥11.25" in redeemed and "卡内扣款：¥11.25" in redeemed and "门店：一号店" in redeemed
    assert "payable_fen" not in page and "1125" not in redeemed
    assert "203.0.113.7" in redeemed and "卡号：" in redeemed and "****" in redeemed
    created = next(row for row in rows if "新建门店" in row)
    assert "198.51.100.9" in created


def test_every_audited_action_actor_and_object_reads_in_words():
    """Nothing the code audits reaches the log as a raw key: the later domains' actions too."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in Path(server.__file__).parent.rglob("*.py"))
    actions = {a or b for a, b in _ACTION.findall(source)}
    actions |= {f"{kind}.{decision}" for kind in ("merchant", "product") for decision in ("approve", "reject")}
    assert {"redemption.create", "card.report_lost", "open.top_up", "batch.print_file"} <= actions
    assert sorted(actions - LABELS["audit_action"].keys()) == []
    targets = {a or b for a, b in _TARGET.findall(source)}
    assert {"card", "api_key", "webhook"} <= targets and sorted(targets - TARGET_LABELS.keys()) == []
    actors = set(re.findall(r'actor_type="([a-z_]+)"', source))
    assert "api_key" in actors and sorted(actors - LABELS["actor_type"].keys()) == []


def test_stores_show_region_names_and_the_picker_gets_its_data(app, staff_client):
    owner = staff_client("owner")
    post_form(owner, "/console/stores", {"name": "拉萨店", "region_code": "540102", "address": "北京中路"})
    page = owner.get("/console/stores").get_data(as_text=True)
    assert '<td data-region="540102">西藏自治区拉萨市城关区</td>' in page and "data-region-picker" in page
    data = app.test_client().get("/console/regions.json")  # the sign-up page needs it before any login
    assert data.status_code == 200 and len(data.get_json()["provinces"]) == 34
    assert "max-age=86400" in data.headers["Cache-Control"]
