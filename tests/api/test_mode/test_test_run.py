"""A product's test run (上线前测试) and the go-live rule: a prepaid product is published only after a
passing test run, whose test card, orders and journals stay in the test books."""

import pytest
from sqlalchemy import func, select

from server.cards.models import Card
from server.db import db
from server.issuance.models import Batch
from server.ledger.models import Journal
from server.modes import ALL_MODES
from server.products.models import CardProduct
from tests import issuance_support as support
from tests.open_support import error_of

#: 100 yuan face value, 充300送50, refundable with a 5 % fee: every step of the test run applies.
PRODUCT = {"status": "approved", "named": True, "top_up": {
    "enabled": True, "tiers": [{"amount_fen": 10000, "bonus_fen": 0}, {"amount_fen": 30000, "bonus_fen": 5000}]},
    "refund_rule": {"allowed": True, "fee_percent": 5}}


@pytest.fixture
def gated(app, monkeypatch):
    monkeypatch.setitem(app.config, "TEST_RUN_REQUIRED", True)


def _run(client, shop, product_id, role="owner"):
    return client.post(f"/api/v1/merchant/card-products/{product_id}/test-run", headers=shop.headers(role))


def _counts(app, merchant_id):
    with app.app_context():
        def count(model, mode):
            return db.session.scalar(select(func.count()).select_from(model).where(
                model.merchant_id == merchant_id, model.mode == mode).execution_options(**{ALL_MODES: True}))
        return {mode: (count(Card, mode), count(Journal, mode), count(Batch, mode)) for mode in ("live", "test")}


def test_publishing_a_prepaid_product_needs_a_passing_test_run(app, client, shop, gated):
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    publish = f"/api/v1/merchant/card-products/{product_id}/publish"
    error = error_of(client.post(publish, headers=shop.headers()), 422, "TEST_RUN_REQUIRED")
    assert "上线前测试" in error["message"]

    result = _run(client, shop, product_id)
    assert result.status_code == 200, result.get_json()
    body = result.get_json()
    assert body["passed"] is True, body
    assert [s["step"] for s in body["steps"]] == ["purchase", "top_up", "redeem", "reverse", "refund"]
    assert all(s["ok"] for s in body["steps"])
    assert "赠送 ¥50.00" in body["steps"][1]["detail"]
    assert "退款" in body["steps"][4]["detail"]

    shown = client.get(f"/api/v1/merchant/card-products/{product_id}", headers=shop.headers()).get_json()
    assert shown["test_run_passed_at"] is not None and shown["last_test_run"]["passed"] is True

    published = client.post(publish, headers=shop.headers())
    assert published.status_code == 200 and published.get_json()["status"] == "published"


def test_the_test_run_writes_only_test_books(app, client, shop):
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    before = _counts(app, shop.merchant_id)
    assert _run(client, shop, product_id).get_json()["passed"]
    after = _counts(app, shop.merchant_id)
    assert after["live"] == before["live"]
    cards, journals, batches = after["test"]
    assert cards == before["test"][0] + 1 and batches == 1
    assert journals >= 5  # purchase, top-up, redemption, its reversal, refund
    # The test batch and card are seen nowhere live.
    listed = client.get("/api/v1/merchant/batches", headers=shop.headers()).get_json()
    assert all("上线前测试" not in item["name"] for item in listed["items"])
    runner = app.test_cli_runner()
    verified = runner.invoke(args=["verify-ledger"])
    assert verified.exit_code == 0 and "test ledger ok" in verified.output, verified.output


def test_a_non_prepaid_product_publishes_without_a_test_run(app, client, shop, gated):
    product_id = support.product(app, shop.merchant_id, kind="points", face_value_fen=0, status="approved",
                                 points_rule={"earn_per_yuan": 1})
    published = client.post(f"/api/v1/merchant/card-products/{product_id}/publish", headers=shop.headers())
    assert published.status_code == 200, published.get_json()


def test_the_setting_relaxes_the_rule(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "TEST_RUN_REQUIRED", False)
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    published = client.post(f"/api/v1/merchant/card-products/{product_id}/publish", headers=shop.headers())
    assert published.status_code == 200, published.get_json()


def test_a_failing_step_is_reported_in_chinese_and_does_not_pass(app, client, shop, gated):
    """Top-ups above the unnamed card's 1,000-yuan cap: the top-up step fails and says why."""
    product_id = support.product(app, shop.merchant_id, **{**PRODUCT, "named": False, "face_value_fen": 90000})
    body = _run(client, shop, product_id).get_json()
    assert body["passed"] is False
    top_up = next(s for s in body["steps"] if s["step"] == "top_up")
    assert top_up["ok"] is False and "上限" in top_up["detail"]
    with app.app_context():
        assert db.session.get(CardProduct, product_id).test_run_passed_at is None
    error_of(client.post(f"/api/v1/merchant/card-products/{product_id}/publish", headers=shop.headers()),
             422, "TEST_RUN_REQUIRED")


def test_only_an_approved_product_is_test_run(app, client, shop):
    product_id = support.product(app, shop.merchant_id, **{**PRODUCT, "status": "draft"})
    error_of(_run(client, shop, product_id), 409, "STATE_CONFLICT")


@pytest.mark.parametrize("role", ["cashier", "finance"])
def test_roles_that_do_not_publish_cannot_test_run(client, shop, role, app):
    product_id = support.product(app, shop.merchant_id, **PRODUCT)
    error_of(_run(client, shop, product_id, role), 403, "FORBIDDEN")


def test_another_merchants_product_is_not_found(app, client, shop, other_merchant):
    product_id = support.product(app, other_merchant.merchant_id, **PRODUCT)
    error_of(_run(client, shop, product_id), 404, "NOT_FOUND")
