"""Every bad request gets the JSON error envelope of docs/api.md, never a 500 or an HTML page."""

import pytest

from tests import factories


def _assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def staff_headers(probe_app, issue_token):
    return issue_token(probe_app, kind="staff", id=1, merchant_id=1, role="owner")


def test_unknown_route_is_json_404(client):
    _assert_envelope(client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")


def test_wrong_method_is_json_405(client):
    _assert_envelope(client.delete("/healthz"), 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_a_validation_error(probe_client, staff_headers):
    response = probe_client.post("/probe/credit", data=b'{"card_id": 1,', content_type="application/json",
                                 headers={**staff_headers, "Idempotency-Key": "k1"})
    error = _assert_envelope(response, 400, "VALIDATION_ERROR")
    assert "body" in error["details"]["fields"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"card_id": "1", "amount_fen": 100}, "card_id", "必须是整数"),
        ({"card_id": 1, "amount_fen": 1.5}, "amount_fen", "必须是整数"),
        ({"card_id": 1, "amount_fen": True}, "amount_fen", "必须是整数"),
        ({"card_id": 1, "amount_fen": -5}, "amount_fen", "不能小于 0"),
        ({"card_id": 1}, "amount_fen", "必填"),
        ({"card_id": 1, "amount_fen": 5, "amount": 5}, "amount", "未知字段"),
    ],
)
def test_wrong_types_name_the_field_in_chinese(probe_client, staff_headers, body, field, message):
    response = probe_client.post("/probe/credit", json=body, headers={**staff_headers, "Idempotency-Key": "k2"})
    error = _assert_envelope(response, 400, "VALIDATION_ERROR")
    assert error["details"]["fields"][field] == message


def test_a_json_array_instead_of_an_object_is_a_validation_error(probe_client, staff_headers):
    response = probe_client.post("/probe/credit", json=[1, 2], headers={**staff_headers, "Idempotency-Key": "k3"})
    _assert_envelope(response, 400, "VALIDATION_ERROR")


def test_business_errors_keep_their_code_and_details(probe_client, probe_app, staff_headers):
    from server.db import db

    with probe_app.app_context():
        merchant = factories.merchant(db.session)
        card = factories.card(db.session, factories.product(db.session, merchant), principal_fen=0)
        db.session.commit()
        card_id = card.id
    # Crediting is fine, but a card that does not exist is a clean 404, not a 500.
    response = probe_client.post("/probe/credit", json={"card_id": card_id + 999, "amount_fen": 1},
                                 headers={**staff_headers, "Idempotency-Key": "k4"})
    _assert_envelope(response, 404, "NOT_FOUND")


def test_missing_token_is_401_and_wrong_kind_is_403(probe_client, probe_app, issue_token):
    _assert_envelope(probe_client.get("/probe/staff"), 401, "UNAUTHENTICATED")
    consumer = issue_token(probe_app, kind="consumer", id=7)
    _assert_envelope(probe_client.get("/probe/staff", headers=consumer), 403, "FORBIDDEN")
    cashier = issue_token(probe_app, kind="staff", id=8, merchant_id=1, role="cashier", store_id=3)
    assert probe_client.get("/probe/staff", headers=cashier).status_code == 200
    _assert_envelope(probe_client.get("/probe/managers", headers=cashier), 403, "FORBIDDEN")
    bogus = {"Authorization": "Bearer not-a-token"}
    _assert_envelope(probe_client.get("/probe/staff", headers=bogus), 401, "UNAUTHENTICATED")
