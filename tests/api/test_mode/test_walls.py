"""Test data is walled off from live as two merchants are, on every surface: the open API with kb_test_
keys, the staff API, reports and their exports, webhooks, verify-ledger, the mini-program's bind, and
wiping the test books."""

from sqlalchemy import func, select, text

from server.cards.models import Card
from server.db import db
from server.modes import ALL_MODES
from server.webhooks.models import WebhookDelivery, WebhookEvent
from tests import issuance_support as support
from tests.open_support import error_of
from tests.webhooks.support import create_webhook


def _keys(open_api):
    return open_api.key(), open_api.key(mode="test")


def _test_card(open_api, test_key, external_id="T001"):
    response = open_api.issue(open_api.batch(), external_id, key=test_key)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_test_keys_cards_are_not_seen_live_and_live_cards_not_in_test(open_api):
    live_key, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    live_card = open_api.issue(open_api.batch(), "L001", key=live_key).get_json()

    assert open_api.get(f"/cards/{test_card['card_no']}", key=test_key).status_code == 200
    error_of(open_api.get(f"/cards/{test_card['card_no']}", key=live_key), 404, "NOT_FOUND")
    error_of(open_api.get(f"/cards/{live_card['card_no']}", key=test_key), 404, "NOT_FOUND")
    assert open_api.get("/cards?external_id=T001", key=live_key).get_json()["items"] == []
    error_of(open_api.client.get(f"/api/v1/merchant/cards/{test_card['card_no']}", headers=open_api.shop.headers()),
             404, "NOT_FOUND")
    # Nor can the test key move the live card's money.
    error_of(open_api.redeem(live_card["card_no"], key=test_key, amount_fen=100), 404, "NOT_FOUND")


def test_test_money_stays_out_of_the_live_report_and_its_exports(open_api):
    live_key, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    assert open_api.top_up(test_card["card_no"], 30000, "ERP-1", key=test_key).status_code == 201
    assert open_api.redeem(test_card["card_no"], key=test_key, amount_fen=2500).status_code == 200

    live = open_api.get("/reports/summary", key=live_key).get_json()
    assert (live["top_up_fen"], live["cards_issued"], live["outstanding_principal_fen"]) == (0, 0, 0)
    staff = open_api.client.get("/api/v1/merchant/reports/summary", headers=open_api.shop.headers()).get_json()
    assert staff["top_up_fen"] == 0 and staff["redeemed_fen"] == 0
    test = open_api.get("/reports/summary", key=test_key).get_json()
    assert test["top_up_fen"] == 30000 and test["cards_issued"] == 1
    # 100 yuan face value, 充300送50, then 25 yuan redeemed: the test books owe the rest.
    assert test["outstanding_principal_fen"] + test["outstanding_bonus_fen"] == 10000 + 30000 + 5000 - 2500

    exported = open_api.client.get("/api/v1/merchant/reports/export?section=by_day",
                                   headers=open_api.shop.headers())
    assert exported.status_code == 200
    assert "300.00" not in exported.get_data(as_text=True)
    redemptions = open_api.client.get("/api/v1/merchant/redemptions", headers=open_api.shop.headers()).get_json()
    assert redemptions["items"] == []


def test_an_external_order_number_is_unique_per_mode(open_api):
    live_key, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    live_card = open_api.issue(open_api.batch(), "L001", key=live_key).get_json()
    assert open_api.top_up(test_card["card_no"], 10000, "ERP-9", key=test_key).status_code == 201
    assert open_api.top_up(live_card["card_no"], 10000, "ERP-9", key=live_key).status_code == 201


def test_test_events_reach_only_test_endpoints(app, client, open_api, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_AFTER_COMMIT", False)
    live_hook = create_webhook(client, open_api.shop, "https://erp.example.com/live", events=["card.issued"])
    test_hook = create_webhook(client, open_api.shop, "https://erp.example.com/test", events=["card.issued"],
                               mode="test")
    live_key, test_key = _keys(open_api)
    _test_card(open_api, test_key)
    open_api.issue(open_api.batch(), "L001", key=live_key)
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.endpoint_id, WebhookEvent.mode)
                                  .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)).all()
    assert sorted(rows) == sorted([(live_hook["webhook_id"], "live"), (test_hook["webhook_id"], "test")])


def test_verify_ledger_checks_each_mode(app, open_api):
    _, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["verify-ledger"]).exit_code == 0
    with app.app_context():
        db.session.execute(text("UPDATE cards SET principal_fen = principal_fen + 1 WHERE card_no = :no"),
                           {"no": test_card["card_no"]})
        db.session.commit()
    drifted = runner.invoke(args=["verify-ledger"])
    assert drifted.exit_code == 1
    assert "live ledger ok" in drifted.output and "DRIFT test card_balance" in drifted.output
    assert runner.invoke(args=["verify-ledger", "--mode", "live"]).exit_code == 0


def test_a_test_cards_bind_code_is_refused_in_the_mini_program(open_api, issue_token, app):
    _, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    consumer = support.consumer_headers(issue_token, support.consumer(app))
    response = open_api.client.post("/api/v1/mp/cards/bind", json={"code": test_card["bind_code"]}, headers=consumer)
    error_of(response, 422, "CODE_INVALID")


def test_the_owner_wipes_the_test_books_and_live_stays(app, open_api):
    live_key, test_key = _keys(open_api)
    test_card = _test_card(open_api, test_key)
    open_api.top_up(test_card["card_no"], 30000, "ERP-1", key=test_key)
    open_api.redeem(test_card["card_no"], key=test_key, amount_fen=2500)
    live_card = open_api.issue(open_api.batch(), "L001", key=live_key).get_json()
    client, shop = open_api.client, open_api.shop

    error_of(client.delete("/api/v1/merchant/test-data", headers=shop.headers("manager")), 403, "FORBIDDEN")
    wiped = client.delete("/api/v1/merchant/test-data", headers=shop.headers())
    assert wiped.status_code == 200, wiped.get_json()
    assert wiped.get_json()["removed"]["cards"] == 1
    with app.app_context():
        modes = dict(db.session.execute(select(Card.mode, func.count()).group_by(Card.mode)
                                        .execution_options(**{ALL_MODES: True})).all())
    assert modes == {"live": 1}
    error_of(open_api.get(f"/cards/{test_card['card_no']}", key=test_key), 404, "NOT_FOUND")
    assert open_api.get(f"/cards/{live_card['card_no']}", key=live_key).status_code == 200
    assert app.test_cli_runner().invoke(args=["verify-ledger"]).exit_code == 0
