"""Bad input is a 400 VALIDATION_ERROR naming the field (or 413 PAYLOAD_TOO_LARGE), never a 500.

The issue's five causes of 500, each reproduced through the API: ids at 2^63 (PostgreSQL's BIGINT
overflows), amounts and counts at 2^31 (INTEGER columns), NUL characters, JSON nested 1,000 deep,
dates Python cannot shift. The whole module runs on SQLite and again on PostgreSQL (make test); the
``postgres`` tests below show the overflow cases against a real BIGINT/INTEGER column.
"""

from __future__ import annotations

import pytest

from tests import issuance_support as support
from tests.conftest import admin_headers

BIG_ID = 2**63  # one past BIGINT
BIG_INT = 2**31  # one past INTEGER


def _refused(response, field: str, status: int = 400, code: str = "VALIDATION_ERROR") -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    error = response.get_json()["error"]
    assert error["code"] == code
    assert response.get_json()["request_id"] == response.headers["X-Request-Id"]
    if field:
        assert field in error["details"]["fields"], error
        return error["details"]["fields"][field]
    return ""


# --- 1. ids at or beyond ±2^63 ----------------------------------------------------------------------


def id_cases(shop):
    return [
        ("get", f"/api/v1/merchant/batches/{BIG_ID}", None, "batch_id"),
        ("get", f"/api/v1/merchant/card-products/{BIG_ID * 10}", None, "product_id"),
        ("post", f"/api/v1/merchant/redemptions/{BIG_ID}/reverse", {"reason": "x"}, "redemption_id"),
        ("get", f"/api/v1/merchant/redemptions?store_id={BIG_ID}", None, "store_id"),
        ("get", f"/api/v1/merchant/redemptions?staff_id=-{BIG_ID + 1}", None, "staff_id"),
        ("get", f"/api/v1/merchant/batches?product_id={BIG_ID}", None, "product_id"),
        ("get", f"/api/v1/merchant/reports/summary?store_id={BIG_ID}", None, "store_id"),
        ("post", "/api/v1/merchant/batches", {"product_id": BIG_ID, "channel_id": 1, "name": "b", "quantity": 1,
                                              "price_fen": 0, "issue_method": "claim"}, "product_id"),
        ("post", "/api/v1/merchant/redeem", {"code": "123456789012345678", "store_id": BIG_ID}, "store_id"),
        ("post", "/api/v1/merchant/staff", {"username": "cash1", "password": "password1", "role": "cashier",
                                            "store_id": -BIG_ID - 1}, "store_id"),
        ("post", "/api/v1/merchant/card-products", {"name": "卡", "kind": "stored_value", "face_value_fen": 100,
                                                    "store_scope": [shop.store_id, BIG_ID]}, "store_scope"),
    ]


def test_ids_beyond_64_bits_are_validation_errors(client, shop):
    for method, url, body, field in id_cases(shop):
        headers = {**shop.headers("owner"), "Idempotency-Key": "k-ids"}
        response = getattr(client, method)(url, json=body, headers=headers)
        _refused(response, field)


def test_a_cursor_beyond_64_bits_is_a_validation_error(client, shop):
    import base64

    cursor = base64.urlsafe_b64encode(str(BIG_ID).encode()).decode().rstrip("=")
    _refused(client.get(f"/api/v1/merchant/redemptions?cursor={cursor}", headers=shop.headers()), "cursor")


def test_the_largest_id_is_simply_not_found(client, shop):
    response = client.get(f"/api/v1/merchant/batches/{BIG_ID - 1}", headers=shop.headers())
    assert response.status_code == 404


# --- 2. amounts and counts at or beyond 2^31 -----------------------------------------------------------


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/v1/merchant/channels", {"name": "c", "kind": "offline", "cost_per_card_fen": BIG_INT}, "cost_per_card_fen"),
    ("/api/v1/merchant/card-products", {"name": "卡", "kind": "stored_value", "face_value_fen": BIG_INT},
     "face_value_fen"),
    ("/api/v1/merchant/card-products", {"name": "卡", "kind": "count", "uses": BIG_INT}, "uses"),
    ("/api/v1/merchant/card-products", {"name": "卡", "kind": "discount", "min_spend_fen": BIG_INT * 4},
     "min_spend_fen"),
    ("/api/v1/merchant/card-products", {"name": "卡", "kind": "stored_value",
                                        "top_up": {"enabled": True, "tiers": [{"amount_fen": BIG_INT}]}},
     "top_up.tiers[0].amount_fen"),
    ("/api/v1/merchant/card-products", {"name": "卡", "kind": "stored_value", "validity": {"type": "relative",
                                                                                         "days": -BIG_INT - 1}},
     "validity.days"),
])
def test_amounts_and_counts_beyond_integer_columns_are_validation_errors(client, shop, url, body, field):
    message = _refused(client.post(url, json=body, headers=shop.headers("owner")), field)
    assert "2147483647" in message or "-2147483648" in message


def test_a_redemption_of_2_pow_31_fen_is_refused_before_any_card_is_touched(client, shop):
    response = client.post("/api/v1/merchant/redeem", json={"code": "123456789012345678", "store_id": shop.store_id,
                                                            "amount_fen": BIG_INT},
                           headers={**shop.headers("owner"), "Idempotency-Key": "k-amount"})
    _refused(response, "amount_fen")


def test_points_beyond_the_integer_column_are_refused_at_the_counter(app, shop, client):
    from server.db import db
    from server.products.models import CardProduct
    from tests.counter import Counter

    counter = Counter(app, shop)
    with app.app_context():
        db.session.get(CardProduct, counter.product_ids["points"]).points_rule = {"earn_per_yuan": 1000}
        db.session.commit()
    card_id = counter.card("points")
    response = counter.redeem(client, code=counter.code(card_id)["numeric"], amount_fen=BIG_INT - 1)
    assert "积分" in _refused(response, "amount_fen")
    small = counter.redeem(client, code=counter.code(card_id)["numeric"], amount_fen=10_000)
    assert small.status_code == 200 and small.get_json()["points_earned"] == 100_000


def test_the_largest_integer_still_passes_the_schema(client, shop):
    body = {"name": "c", "kind": "offline", "cost_per_card_fen": BIG_INT - 1}
    assert client.post("/api/v1/merchant/channels", json=body, headers=shop.headers("owner")).status_code == 201


# --- 3. NUL characters (and lone surrogates) anywhere -------------------------------------------------


def test_a_nul_in_an_uploaded_csv_is_a_validation_error(client, shop):
    import io

    data = {"file": (io.BytesIO(b"code,openid\nABCD2345EFGH6789,o_x\x00y\n"), "bind.csv")}
    response = client.post("/api/v1/merchant/batches/1/codes/bind", data=data, content_type="multipart/form-data",
                           headers=shop.headers("owner"))
    assert "NUL" in _refused(response, "file")


def test_a_nul_in_an_unauthenticated_login_is_a_validation_error(client):
    body = {"username": "a\u0000b", "password": "x"}
    _refused(client.post("/api/v1/platform/login", json=body), "username")
    _refused(client.post("/api/v1/merchant/login", json={"username": "a", "password": "x\u0000"}), "password")


def test_nul_and_lone_surrogates_in_text_fields_query_args_and_paths(client, shop):
    headers = shop.headers("owner")
    _refused(client.post("/api/v1/merchant/stores", json={"name": "店\u0000", "region_code": "310101"},
                         headers=headers), "name")
    _refused(client.post("/api/v1/merchant/stores", data='{"name": "\\ud800", "region_code": "310101"}',
                         content_type="application/json", headers=headers), "name")
    _refused(client.post("/api/v1/merchant/card-products", json={"name": "卡", "style": {"color": "#fff\u0000"}},
                         headers=headers), "style.color")
    _refused(client.get("/api/v1/merchant/redemptions?status=completed%00", headers=headers), "status")
    _refused(client.get("/api/v1/merchant/card-products?status=a%00", headers=headers), "status")
    _refused(client.get("/api/v1/merchant/cards/6201%00", headers=headers), "card_no")
    _refused(client.post("/api/v1/mp/transfers/ab%00cd/accept"), "transfer_token")
    _refused(client.get("/api/v1/mp/qr/ab%00cd.png"), "token")


# --- 4. JSON nested too deep ------------------------------------------------------------------------------


DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("url", ["/api/v1/platform/login", "/api/v1/merchant/login", "/api/v1/mp/login",
                                 "/api/v1/merchant/register"])
def test_json_nested_1000_deep_is_a_validation_error_even_unauthenticated(client, url):
    message = _refused(client.post(url, data=DEEP, content_type="application/json"), "body")
    assert "嵌套" in message


def test_deep_json_inside_a_string_is_just_text(client):
    body = '{"username": "admin", "password": "' + "[{" * 60 + '"}'
    response = client.post("/api/v1/platform/login", data=body, content_type="application/json")
    assert response.status_code == 401


def test_deep_json_to_an_endpoint_reading_json_itself(client, shop):
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    _refused(client.post("/api/v1/merchant/card-products/validate", data=body, content_type="application/json",
                         headers=shop.headers("owner")), "body")


def test_a_number_too_long_to_parse_is_a_validation_error(client):
    body = '{"username": "a", "password": ' + "9" * 5000 + "}"
    _refused(client.post("/api/v1/platform/login", data=body, content_type="application/json"), "body")


# --- 5. dates Python cannot shift --------------------------------------------------------------------


@pytest.mark.parametrize(("query", "field"), [
    ("from=0001-01-01", "from"),
    ("to=9999-12-31", "to"),
    ("date=9999-12-31", "date"),
    ("date=0001-01-01", "date"),
])
def test_redemption_dates_out_of_range_name_the_field(client, shop, query, field):
    message = _refused(client.get(f"/api/v1/merchant/redemptions?{query}", headers=shop.headers()), field)
    assert "1900-01-01" in message


@pytest.mark.parametrize(("query", "field"), [("to=0001-01-01", "to"), ("from=9999-12-31&to=9999-12-31", "from")])
def test_report_dates_out_of_range_name_the_field(client, shop, query, field):
    _refused(client.get(f"/api/v1/merchant/reports/summary?{query}", headers=shop.headers()), field)


@pytest.mark.parametrize("days", [10**7, BIG_INT - 1])
def test_a_relative_validity_no_expiry_date_can_hold_is_refused(client, shop, days):
    body = {"name": "卡", "kind": "stored_value", "validity": {"type": "relative", "days": days}}
    message = _refused(client.post("/api/v1/merchant/card-products", json=body, headers=shop.headers("owner")),
                       "validity.days")
    assert "36600" in message


def test_a_sale_window_beyond_year_2999_is_refused(client, shop, app):
    product_id = support.product(app, shop.merchant_id, status="approved")
    channel_id = support.channel(app, shop.merchant_id)
    body = {"product_id": product_id, "channel_id": channel_id, "name": "b", "quantity": 1, "price_fen": 0,
            "issue_method": "claim", "sale_end": "9999-12-31T23:59:59-12:00"}
    _refused(client.post("/api/v1/merchant/batches", json=body, headers=shop.headers("owner")), "sale_end")


# --- bodies over the limit ---------------------------------------------------------------------------


def test_a_json_body_over_1_mb_is_413_with_the_envelope(client):
    body = '{"username": "' + "a" * (1024 * 1024) + '", "password": "x"}'
    _refused(client.post("/api/v1/platform/login", data=body, content_type="application/json"), "",
             status=413, code="PAYLOAD_TOO_LARGE")


def test_an_upload_over_8_mb_is_413_with_the_envelope(client, shop):
    import io

    data = {"kind": "business_license", "file": (io.BytesIO(b"\x89PNG" + b"\0" * (9 * 1024 * 1024)), "l.png")}
    response = client.post("/api/v1/merchant/documents", data=data, content_type="multipart/form-data",
                           headers=shop.headers("owner"))
    _refused(response, "", status=413, code="PAYLOAD_TOO_LARGE")


def test_a_small_upload_still_passes_the_limit(client, shop):
    import io

    data = {"kind": "business_license", "file": (io.BytesIO(b"not an image" * 1000), "l.png")}
    response = client.post("/api/v1/merchant/documents", data=data, content_type="multipart/form-data",
                           headers=shop.headers("owner"))
    assert response.status_code == 400  # read and refused as no image: the limit did not stop it


def test_the_body_limit_holds_when_configured_off(app_config, app):
    from server import create_app

    unlimited = create_app({**app_config, "MAX_CONTENT_LENGTH": None, "REDIS_CLIENT": app.extensions["kabao_redis"]})
    body = '{"username": "' + "a" * (2 * 1024 * 1024) + '", "password": "x"}'
    response = unlimited.test_client().post("/api/v1/platform/login", data=body, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


# --- stored URLs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>x</script>",
                                 "//evil.example/logo.png", "ftp://example.com/a.png", "https://exa mple.com/a"])
def test_a_logo_url_must_be_http_or_https(client, shop, url):
    body = {"name": "卡", "kind": "stored_value", "face_value_fen": 100, "style": {"logo_url": url}}
    message = _refused(client.post("/api/v1/merchant/card-products", json=body, headers=shop.headers("owner")),
                       "style.logo_url")
    assert "http" in message


def test_an_https_logo_url_is_stored(client, shop):
    body = {"name": "卡", "kind": "stored_value", "face_value_fen": 100,
            "style": {"logo_url": "https://cdn.example.com/logo.png"}}
    response = client.post("/api/v1/merchant/card-products", json=body, headers=shop.headers("owner"))
    assert response.status_code == 201


# --- PostgreSQL: the columns that overflowed ------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_bigint_and_integer_overflows_are_validation_errors(client, shop, app):
    headers = {**shop.headers("owner"), "Idempotency-Key": "k-pg"}
    for method, url, body, field in id_cases(shop):
        _refused(getattr(client, method)(url, json=body, headers=headers), field)
    body = {"name": "c", "kind": "offline", "cost_per_card_fen": BIG_INT}
    _refused(client.post("/api/v1/merchant/channels", json=body, headers=headers), "cost_per_card_fen")
    _refused(client.post("/api/v1/platform/login", json={"username": "a\u0000b", "password": "x"}), "username")
    admin = admin_headers(app)
    _refused(client.get("/api/v1/platform/card-products?status=x%00", headers=admin), "status")
    _refused(client.post(f"/api/v1/platform/merchants/{BIG_ID}/review", json={"decision": "approve"},
                         headers=admin), "merchant_id")


@pytest.mark.postgres
def test_a_value_the_database_refuses_is_still_a_400_and_logged_as_a_missing_bound(app_config, app, caplog):
    from sqlalchemy import text

    from server import create_app
    from server.db import db

    unbounded = create_app({**app_config, "REDIS_CLIENT": app.extensions["kabao_redis"]})
    unbounded.add_url_rule("/unbounded", view_func=lambda: str(
        db.session.execute(text("SELECT CAST(:v AS integer)"), {"v": 2**40}).scalar()))
    response = unbounded.test_client().get("/unbounded")
    _refused(response, "body")
    assert any(r.getMessage().startswith("value refused by the database") for r in caplog.records)
