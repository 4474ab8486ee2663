"""Open top-ups (external clearing; tiers, bonus and the legal cap as WeChat top-ups) and redemptions
with reversal (every rule of the cashier's): external order numbers once per merchant and operation,
idempotent replays, the books balanced."""

import pytest
from sqlalchemy import func, select, text

from server.db import db
from server.ledger.models import Journal
from server.ledger.services import verify_ledger
from server.open.models import ExternalRedemption, ExternalTopUp
from server.redemption.models import Redemption
from tests import issuance_support as support
from tests.open_support import error_of


def _balances(app, merchant_id) -> dict[str, int]:
    with app.app_context():
        return {account: int(total) for account, total in db.session.execute(text(
            "SELECT account, SUM(amount) FROM ledger_entries WHERE merchant_id = :m GROUP BY account"),
            {"m": merchant_id})}


def test_a_tier_top_up_credits_principal_and_bonus_from_external_clearing(app, open_api):
    card = open_api.card()
    response = open_api.top_up(card["card_no"], 30000, "ERP-0001")
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert (result["amount_fen"], result["bonus_fen"], result["external_order_no"]) == (30000, 5000, "ERP-0001")
    assert (result["card"]["principal_fen"], result["card"]["bonus_fen"]) == (30000, 15000)  # face value is bonus
    m, c = open_api.shop.merchant_id, card["card_id"]
    books = _balances(app, m)
    assert books[f"merchant:{m}:external_clearing"] == -30000
    assert books[f"card:{c}:principal"] == 30000 and books[f"card:{c}:bonus"] == 15000
    with app.app_context():
        assert verify_ledger(db.session) == []
        journal = db.session.scalar(select(Journal).where(Journal.kind == "top_up"))
        assert (journal.ref_type, journal.ref_id) == ("open_top_up", result["top_up_id"])
    # a custom amount earns the bonus of the highest tier it reaches; the transactions show both
    assert open_api.top_up(card["card_no"], 12345, "ERP-0002").get_json()["bonus_fen"] == 0
    items = open_api.get(f"/cards/{card['card_no']}/transactions").get_json()["items"]
    assert [item["type"] for item in items] == ["top_up", "top_up", "issue"]
    assert items[1]["principal_fen"] == 30000 and items[1]["bonus_fen"] == 5000
    assert items[0]["balance_after_fen"] == 10000 + 35000 + 12345


def test_the_report_counts_open_top_ups(open_api):
    card = open_api.card()
    open_api.top_up(card["card_no"], 30000, "ERP-R1")
    report = open_api.get("/reports/summary").get_json()
    assert report["top_up_fen"] == 30000 and report["cards_issued"] == 1
    assert report["outstanding_principal_fen"] == 30000
    error_of(open_api.get("/reports/summary?from=2026-13-01"), 400, "VALIDATION_ERROR")
    error_of(open_api.get("/reports/summary?store_id=999999"), 404, "NOT_FOUND")


@pytest.mark.parametrize("amount_fen, detail", [
    (50, "min_fen"),            # below the custom range
    (100001, "max_fen"),        # above it
])
def test_amounts_outside_the_tiers_are_not_allowed(open_api, amount_fen, detail):
    card = open_api.card()
    error = error_of(open_api.top_up(card["card_no"], amount_fen, "E1"), 422, "AMOUNT_NOT_ALLOWED")
    assert detail in error["details"]


def test_the_legal_cap_holds_as_for_wechat_top_ups(open_api):
    card = open_api.card()  # unnamed: at most 1,000 yuan on the card
    assert open_api.top_up(card["card_no"], 30000, "E1").status_code == 201
    assert open_api.top_up(card["card_no"], 30000, "E2").status_code == 201  # 100 + 2 × 350 = 800 yuan
    error = error_of(open_api.top_up(card["card_no"], 30000, "E3"), 422, "AMOUNT_NOT_ALLOWED")
    assert error["details"]["cap_fen"] == 100000
    assert open_api.top_up(card["card_no"], 20000, "E3").status_code == 201  # exactly the cap


def test_a_product_without_top_ups_refuses(app, open_api):
    product_id = support.product(app, open_api.shop.merchant_id, top_up={"enabled": False})
    card = open_api.issue(support.batch(app, open_api.shop.merchant_id, product_id)).get_json()
    error_of(open_api.top_up(card["card_no"], 10000, "E1"), 422, "AMOUNT_NOT_ALLOWED")


def test_an_external_order_number_tops_up_once(app, open_api):
    card = open_api.card()
    first = open_api.top_up(card["card_no"], 10000, "ERP-9", idempotency_key="k1")
    replay = open_api.top_up(card["card_no"], 10000, "ERP-9", idempotency_key="k1")
    assert replay.get_json() == first.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    error = error_of(open_api.top_up(card["card_no"], 10000, "ERP-9", idempotency_key="k2"), 409,
                     "DUPLICATE_EXTERNAL_ORDER")
    assert error["details"] == {"external_order_no": "ERP-9", "top_up_id": first.get_json()["top_up_id"]}
    other_card = open_api.card("M002")
    error_of(open_api.top_up(other_card["card_no"], 10000, "ERP-9"), 409, "DUPLICATE_EXTERNAL_ORDER")
    error_of(open_api.top_up(card["card_no"], 20000, "ERP-10", idempotency_key="k1"), 409, "IDEMPOTENCY_CONFLICT")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExternalTopUp)) == 1
    assert open_api.get(f"/cards/{card['card_no']}").get_json()["principal_fen"] == 10000
    # the same number is free for a redemption (unique per operation) and at another merchant
    assert open_api.redeem(card["card_no"], amount_fen=100, external_order_no="ERP-9").status_code == 200


def test_a_refused_top_up_leaves_its_number_unused(open_api):
    card = open_api.card()
    error_of(open_api.top_up(card["card_no"], 50, "ERP-1"), 422, "AMOUNT_NOT_ALLOWED")
    assert open_api.top_up(card["card_no"], 10000, "ERP-1").status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"amount_fen": 100}, "external_order_no"),
    ({"external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": 0, "external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": -5, "external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": 1.5, "external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": "100", "external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": 10**20, "external_order_no": "E1"}, "amount_fen"),
    ({"amount_fen": 100, "external_order_no": ""}, "external_order_no"),
    ({"amount_fen": 100, "external_order_no": "a b"}, "external_order_no"),
    ({"amount_fen": 100, "external_order_no": "x" * 65}, "external_order_no"),
    ({"amount_fen": 100, "external_order_no": "E\u0000"}, "external_order_no"),
    ({"amount_fen": 100, "external_order_no": "E1\n"}, "external_order_no"),
])
def test_bad_top_up_bodies_are_400_with_the_field(open_api, body, field):
    card = open_api.card()
    response = open_api.post(f"/cards/{card['card_no']}/top-ups", body)
    assert field in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]


def test_redeem_for_an_external_order_then_reverse(app, open_api):
    card = open_api.card()
    response = open_api.redeem(card["card_no"], amount_fen=2500, external_order_no="SHOP-1")
    assert response.status_code == 200, response.get_json()
    receipt = response.get_json()
    assert (receipt["deducted_fen"], receipt["balance_fen"], receipt["external_order_no"]) == (2500, 7500, "SHOP-1")
    with app.app_context():
        redemption = db.session.get(Redemption, receipt["redemption_id"])
        row = db.session.scalar(select(ExternalRedemption))
        assert row.redemption_id == redemption.id and redemption.store_id == open_api.shop.store_id
    reversal = open_api.post(f"/redemptions/{receipt['redemption_id']}/reverse", {"reason": "订单取消"})
    assert reversal.status_code == 200, reversal.get_json()
    assert reversal.get_json()["card"]["balance_fen"] == 10000
    assert reversal.get_json()["redemption"]["status"] == "reversed"
    error_of(open_api.post(f"/redemptions/{receipt['redemption_id']}/reverse", {"reason": "再来"}), 409,
             "ALREADY_REVERSED")
    with app.app_context():
        assert verify_ledger(db.session) == []


def test_an_external_order_number_redeems_once(open_api):
    card = open_api.card()
    first = open_api.redeem(card["card_no"], amount_fen=100, external_order_no="SHOP-7", idempotency_key="r1")
    replay = open_api.redeem(card["card_no"], amount_fen=100, external_order_no="SHOP-7", idempotency_key="r1")
    assert replay.get_json() == first.get_json()
    error = error_of(open_api.redeem(card["card_no"], amount_fen=100, external_order_no="SHOP-7"), 409,
                     "DUPLICATE_EXTERNAL_ORDER")
    assert error["details"]["redemption_id"] == first.get_json()["redemption_id"]
    error_of(open_api.redeem(card["card_no"], amount_fen=200, external_order_no="SHOP-8", idempotency_key="r1"),
             409, "IDEMPOTENCY_CONFLICT")
    # without a number, every call is its own redemption
    assert open_api.redeem(card["card_no"], amount_fen=100).status_code == 200
    assert open_api.redeem(card["card_no"], amount_fen=100).status_code == 200
    assert open_api.get(f"/cards/{card['card_no']}").get_json()["balance_fen"] == 10000 - 300


def test_every_rule_of_the_cashiers_redeem_holds(app, open_api, other_merchant):
    card = open_api.card()
    error_of(open_api.redeem(card["card_no"], amount_fen=999999), 422, "INSUFFICIENT_BALANCE")
    error_of(open_api.redeem(card["card_no"], amount_fen=100, store_id=other_merchant.store_id), 404, "NOT_FOUND")
    error_of(open_api.redeem("6201999999999999", amount_fen=100), 404, "NOT_FOUND")
    with app.app_context():
        db.session.execute(text("UPDATE cards SET status = 'frozen' WHERE id = :id"), {"id": card["card_id"]})
        db.session.commit()
    error_of(open_api.redeem(card["card_no"], amount_fen=100), 422, "CARD_NOT_ACTIVE")
    error_of(open_api.top_up(card["card_no"], 10000, "E-frozen"), 422, "CARD_NOT_ACTIVE")
    with app.app_context():
        db.session.execute(text("UPDATE merchants SET status = 'suspended' WHERE id = :id"),
                           {"id": open_api.shop.merchant_id})
        db.session.commit()
    error_of(open_api.redeem(card["card_no"], amount_fen=100), 403, "MERCHANT_NOT_APPROVED")
    error_of(open_api.top_up(card["card_no"], 10000, "E-suspended"), 403, "MERCHANT_NOT_APPROVED")


def test_reversal_of_another_merchants_or_an_unknown_redemption_is_404(app, open_api, other_merchant, issue_token):
    owner = issue_token(kind="staff", id=other_merchant.owner_id, merchant_id=other_merchant.merchant_id, role="owner")
    other_key = open_api.create_key(headers=owner).get_json()["key"]
    theirs = open_api.issue(other_merchant.batch_id, "X1", key=other_key).get_json()
    receipt = open_api.redeem(theirs["card_no"], key=other_key, amount_fen=100,
                              store_id=other_merchant.store_id).get_json()
    error_of(open_api.post(f"/redemptions/{receipt['redemption_id']}/reverse", {"reason": "x"}), 404, "NOT_FOUND")
    error_of(open_api.post("/redemptions/99999999/reverse", {"reason": "x"}), 404, "NOT_FOUND")
    error_of(open_api.post("/redemptions/99999999999999999999/reverse", {"reason": "x"}), 404, "NOT_FOUND")


@pytest.mark.parametrize("body, field", [
    ({"store_id": 1}, "card_no"),
    ({"card_no": "6201x"}, "card_no"),
    ({"card_no": "6201000000000000", "store_id": "1"}, "store_id"),
    ({"card_no": "6201000000000000", "store_id": 10**19}, "store_id"),
    ({"card_no": "6201000000000000", "store_id": 1, "amount_fen": -1}, "amount_fen"),
    ({"card_no": "6201000000000000", "store_id": 1, "uses": 0}, "uses"),
    ({"card_no": "6201000000000000", "store_id": 1, "redeem_points": 2**40}, "redeem_points"),
    ({"card_no": "6201000000000000", "store_id": 1, "external_order_no": ""}, "external_order_no"),
    ({"card_no": "6201000000000000", "store_id": 1, "code": "x"}, "code"),
])
def test_bad_redeem_bodies_are_400_with_the_field(open_api, body, field):
    response = open_api.client.post("/open/v1/redemptions", json=body, headers=open_api.headers())
    assert field in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]


def test_money_moves_need_an_idempotency_key(open_api):
    card = open_api.card()
    headers = {"Authorization": f"Bearer {open_api.default_key}"}
    for path, body in ((f"/cards/{card['card_no']}/top-ups", {"amount_fen": 10000, "external_order_no": "E"}),
                       ("/redemptions", {"card_no": card["card_no"], "store_id": open_api.shop.store_id}),
                       ("/redemptions/1/reverse", {"reason": "x"})):
        response = open_api.client.post(f"/open/v1{path}", json=body, headers=headers)
        assert "Idempotency-Key" in error_of(response, 400, "VALIDATION_ERROR")["details"]["fields"]


def test_the_report_shows_only_the_keys_merchant(open_api, other_merchant, issue_token):
    owner = issue_token(kind="staff", id=other_merchant.owner_id, merchant_id=other_merchant.merchant_id, role="owner")
    other_key = open_api.create_key(headers=owner).get_json()["key"]
    theirs = open_api.issue(other_merchant.batch_id, "X1", key=other_key).get_json()
    assert open_api.redeem(theirs["card_no"], key=other_key, amount_fen=1000,
                           store_id=other_merchant.store_id).status_code == 200
    mine = open_api.get("/reports/summary").get_json()
    assert (mine["cards_issued"], mine["redeemed_fen"], mine["outstanding_bonus_fen"]) == (0, 0, 0)
    assert open_api.get("/reports/summary", key=other_key).get_json()["redeemed_fen"] == 1000
    error_of(open_api.get(f"/reports/summary?store_id={other_merchant.store_id}"), 404, "NOT_FOUND")


def test_flask_verify_ledger_passes_after_open_issues_top_ups_redemptions_and_reversals(app, open_api):
    card = open_api.card()
    coded = open_api.issue(open_api.batch(issue_method="code", price_fen=6000), "M002").get_json()
    open_api.top_up(card["card_no"], 30000, "V-1")
    open_api.top_up(coded["card_no"], 12345, "V-2")
    receipt = open_api.redeem(card["card_no"], amount_fen=4321, external_order_no="V-3").get_json()
    open_api.post(f"/redemptions/{receipt['redemption_id']}/reverse", {"reason": "退单"})
    open_api.redeem(coded["card_no"], amount_fen=999)
    result = app.test_cli_runner().invoke(args=["verify-ledger"])
    assert result.exit_code == 0 and "ledger ok" in result.output, result.output
    books = _balances(app, open_api.shop.merchant_id)
    assert books[f"merchant:{open_api.shop.merchant_id}:external_clearing"] == -(6000 + 30000 + 12345)
