"""积分兑换 in the console: the catalogue, and exchange at the counter from the member page."""

import re

from server.cards.models import Card
from server.db import db
from tests.console.helpers import post_form


def test_a_manager_lists_a_reward_and_a_cashier_exchanges_it(app, staff_client, counter):
    owner = staff_client("owner")
    refused = post_form(owner, "/console/rewards", {"name": "10元储值", "kind": "stored_value", "points_price": "200",
                                                    "stock": "10", "value_fen": "", "uses": ""})
    assert refused.status_code == 400 and "请填写赠送的储值金额" in refused.get_data(as_text=True)
    assert post_form(owner, "/console/rewards", {"name": "美式咖啡一杯", "kind": "goods", "points_price": "100",
                                                 "stock": "3", "value_fen": "", "uses": ""}).status_code == 303
    page = owner.get("/console/rewards").get_data(as_text=True)
    reward_id = re.search(r'data-reward-id="(\d+)"><td>美式咖啡一杯', page)[1]
    card_id = counter.card("points", points=150)
    with app.app_context():
        card_no = db.session.get(Card, card_id).card_no
    cashier = staff_client("cashier")
    assert "美式咖啡一杯 · 100 积分" in cashier.get(f"/console/cards/{card_no}").get_data(as_text=True)
    done = post_form(cashier, f"/console/cards/{card_no}/exchange",
                     {"reward_id": reward_id, "store_id": str(counter.shop.store_id)})
    assert done.status_code == 303
    after = cashier.get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert "已兑换「美式咖啡一杯」，扣除 100 积分，剩余 50 积分" in after and "积分兑换" in after
    again = post_form(cashier, f"/console/cards/{card_no}/exchange",
                      {"reward_id": reward_id, "store_id": str(counter.shop.store_id)})
    assert again.status_code == 422 and "积分不足" in again.get_data(as_text=True)
    assert post_form(cashier, "/console/rewards", {"name": "x", "kind": "goods", "points_price": "1",
                                                   "stock": "1"}).status_code == 403
