"""GET /api/v1/openapi.json is complete: a valid OpenAPI 3 document whose every operation has its success
response, its security, the Idempotency-Key header where the view requires one and the error envelope; the
offline docs page and the guide; and real answers that conform to the documented schemas (drift)."""

from __future__ import annotations

import html
import re
import time

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from server.openapi import SECURITY_SCHEMES, operation_facts
from server.webhooks.signing import signature_header

METHODS = {"get", "post", "put", "patch", "delete"}
#: Every money move of docs/api.md (and the open API's): each requires the Idempotency-Key.
MONEY_MOVES = {
    ("post", "/api/v1/merchant/redeem"),
    ("post", "/api/v1/merchant/redemptions/{redemption_id}/reverse"),
    ("post", "/api/v1/mp/cards/{card_id}/top-ups"),
    ("post", "/api/v1/mp/batches/{batch_id}/purchase"),
    ("post", "/api/v1/mp/cards/{card_id}/refund"),
    ("post", "/open/v1/cards"),
    ("post", "/open/v1/cards/{card_no}/top-ups"),
    ("post", "/open/v1/redemptions"),
    ("post", "/open/v1/redemptions/{redemption_id}/reverse"),
}
NO_AUTH = {
    ("post", "/api/v1/merchant/register"), ("post", "/api/v1/merchant/login"), ("post", "/api/v1/platform/login"),
    ("post", "/api/v1/mp/login"), ("get", "/api/v1/templates"), ("get", "/api/v1/mp/qr/{token}.png"),
    ("post", "/api/v1/wechat/pay/notify"), ("post", "/api/v1/wechat/pay/v3/notify"),
    ("post", "/api/v1/wechat/refund/notify"), ("post", "/api/v1/wechat/refund/v3/notify"), ("get", "/healthz"),
}
#: Answer in their own protocol, never the envelope: WeChat's callbacks, and the health check (its 503 names
#: what is down).
_OWN_PROTOCOL = ("/api/v1/wechat/", "/healthz", "/api/v1/ping")


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def _resolve(spec, node):
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _views(app):
    """(method, OpenAPI path) → view function of every documented route."""
    views = {}
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            views[(method.lower(), _openapi_path(rule.rule))] = app.view_functions[rule.endpoint]
    return views


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.0")
    validate_spec(spec)


def test_every_operation_documents_its_success_response(spec):
    missing = []
    for method, path, operation in _operations(spec):
        successes = {status: _resolve(spec, r) for status, r in operation["responses"].items() if status[0] == "2"}
        if not successes:
            missing.append((method, path, "no 2xx"))
        for status, response in successes.items():
            if status == "204" or (status == "202" and "content" not in response):
                continue
            content = response.get("content") or {}
            if not content or not all(media.get("schema") for media in content.values()):
                missing.append((method, path, status))
    assert not missing
    assert len(list(_operations(spec))) >= 78


def test_non_json_answers_carry_their_content_type(spec):
    def types(path, method, status="200"):
        return set(_resolve(spec, spec["paths"][path][method]["responses"][status])["content"])

    assert types("/api/v1/merchant/batches/{batch_id}/codes", "post", "201") == {"text/csv"}
    assert types("/api/v1/merchant/reports/export", "get") == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert types("/api/v1/mp/qr/{token}.png", "get") == {"image/png"}
    assert types("/api/v1/platform/documents/{document_id}", "get") == {"image/png", "image/jpeg"}
    assert types("/api/v1/wechat/pay/notify", "post") == {"application/xml"}


def test_every_idempotent_view_requires_the_header(app, spec):
    views = _views(app)
    idempotent = set()
    for method, path, operation in _operations(spec):
        headers = [p for p in operation.get("parameters", []) if p.get("in") == "header"
                   and p["name"] == "Idempotency-Key"]
        if operation_facts(views[(method, path)])["idempotent"]:
            idempotent.add((method, path))
            assert len(headers) == 1 and headers[0]["required"] is True, (method, path)
            assert (headers[0]["schema"]["minLength"], headers[0]["schema"]["maxLength"]) == (1, 64)
        else:
            assert not headers, (method, path)
    assert idempotent >= MONEY_MOVES


def test_security_is_set_per_operation(app, spec):
    schemes = spec["components"]["securitySchemes"]
    assert {name for name, _ in SECURITY_SCHEMES.values()} <= set(schemes)
    assert all((s["type"], s["scheme"]) == ("http", "bearer") for s in schemes.values())
    views = _views(app)
    for method, path, operation in _operations(spec):
        kind = operation_facts(views[(method, path)])["auth"]
        expected = [{SECURITY_SCHEMES[kind][0]: []}] if kind else []
        assert operation["security"] == expected, (method, path)
        if (method, path) in NO_AUTH:
            assert operation["security"] == [], (method, path)
    assert spec["paths"]["/api/v1/merchant/redeem"]["post"]["security"] == [{"StaffToken": []}]
    assert spec["paths"]["/api/v1/mp/cards"]["get"]["security"] == [{"ConsumerToken": []}]
    assert spec["paths"]["/api/v1/platform/merchants"]["get"]["security"] == [{"PlatformAdminToken": []}]
    assert spec["paths"]["/open/v1/redemptions"]["post"]["security"] == [{"ApiKey": []}]


def test_errors_are_the_envelope_wherever_they_can_occur(spec):
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        if path.startswith(_OWN_PROTOCOL):
            assert not any(status in responses for status in ("401", "403", "default")), path
            continue
        expected = {"400", "404", "422", "429"} | ({"409"} if method != "get" else set())
        if operation["security"]:
            expected |= {"401", "403"}
        assert expected <= set(responses), (method, path)
        for status, response in responses.items():
            if status[0] in "45" or status == "default":
                schema = _resolve(spec, _resolve(spec, response)["content"]["application/json"]["schema"])
                assert schema["required"] == ["error"], (method, path, status)
                body = _resolve(spec, schema["properties"]["error"])
                assert set(body["required"]) == {"code", "message", "details"}
        assert "Retry-After" in _resolve(spec, responses["429"])["headers"]


def test_the_docs_page_works_offline(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    text = page.get_data(as_text=True)
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assets = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert "/api/v1/openapi.json" in text
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.data
    init = client.get("/static/api-docs/swagger-init.js").get_data(as_text=True)
    assert "validatorUrl: null" in init and "http" not in init
    assert client.get("/api/v1/docs/assets/../../config.py").status_code == 404


def test_the_guide_renders_with_curl_examples_and_a_working_signature_check(client):
    page = client.get("/api/v1/docs/guide")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for needle in ("/open/v1/cards", "/top-ups", "external_order_no", "/open/v1/redemptions", "/reverse",
                   "/transactions", "/reports/summary", "Idempotency-Key", "IDEMPOTENCY_CONFLICT", "Retry-After",
                   "Kabao-Signature", "curl "):
        assert needle in text, needle
    code = html.unescape(re.search(r"<pre><code>(import hashlib.*?)# Flask", text, re.S).group(1))
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 — the guide's own snippet, run as a receiver would
    body, now = b'{"id": "evt_1", "type": "card.redeemed"}', int(time.time())
    assert namespace["kabao_signature_ok"]("whsec", signature_header("whsec", now, body), body)
    assert not namespace["kabao_signature_ok"]("whsec", signature_header("other", now, body), body)
    assert not namespace["kabao_signature_ok"]("whsec", signature_header("whsec", now - 3600, body), body)


def test_the_console_api_keys_page_links_the_guide_and_the_reference():
    from server import ROOT

    page = (ROOT / "templates" / "console" / "api_keys.html").read_text()
    assert 'href="/api/v1/docs/guide"' in page and 'href="/api/v1/docs"' in page


# --- conformance: real answers against the documented schemas ------------------------------------


def _check(spec, method, path, response, *, strict_keys=True):
    """The body validates against the documented schema of its status; ``strict_keys``: every top-level
    field answered is documented (additions must be documented, so generated clients see them)."""
    operation = spec["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code)) or operation["responses"]["default"]
    schema = _resolve(spec, documented)["content"]["application/json"]["schema"]
    body = response.get_json()
    OAS30Validator({**schema, "components": spec["components"]}).validate(body)
    if strict_keys and response.status_code < 400:
        properties = _resolve(spec, schema).get("properties", {})
        assert set(body) <= set(properties), (path, set(body) - set(properties))
    return body


def test_answers_conform_to_the_document(app, client, spec, shop, counter):
    from server.db import db
    from server.merchants.models import Staff

    with app.app_context():
        username = db.session.get(Staff, shop.staff_ids["owner"]).username
    login = client.post("/api/v1/merchant/login", json={"username": username, "password": "secret-pass"})
    assert login.status_code == 200
    _check(spec, "post", "/api/v1/merchant/login", login)
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}

    code = client.get("/api/v1/templates").get_json()["items"][0]["code"]
    _check(spec, "get", "/api/v1/templates", client.get("/api/v1/templates"))
    created = client.post("/api/v1/merchant/card-products", headers=headers, json={"template_code": code})
    assert created.status_code == 201
    _check(spec, "post", "/api/v1/merchant/card-products", created)
    _check(spec, "get", "/api/v1/merchant/card-products", client.get("/api/v1/merchant/card-products",
                                                                         headers=headers))

    card_id = counter.card(principal_fen=30000, bonus_fen=5000)
    receipt = counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=10000)
    assert receipt.status_code == 200
    _check(spec, "post", "/api/v1/merchant/redeem", receipt)

    with app.app_context():
        from server.cards.models import Card

        card_no = db.session.get(Card, card_id).card_no
    card = client.get(f"/api/v1/merchant/cards/{card_no}", headers=headers)
    assert card.status_code == 200
    _check(spec, "get", "/api/v1/merchant/cards/{card_no}", card)

    report = client.get("/api/v1/merchant/reports/summary", headers=headers)
    assert report.status_code == 200
    _check(spec, "get", "/api/v1/merchant/reports/summary", report)
    _check(spec, "get", "/api/v1/merchant/stores", client.get("/api/v1/merchant/stores", headers=headers))
    _check(spec, "get", "/api/v1/merchant/profile", client.get("/api/v1/merchant/profile", headers=headers))


def test_errors_conform_to_the_document(client, spec, shop, counter):
    missing_key = client.post("/api/v1/merchant/redeem", headers=shop.headers("cashier"), json={"code": "x"})
    assert missing_key.status_code == 400
    assert "Idempotency-Key" in _check(spec, "post", "/api/v1/merchant/redeem", missing_key)["error"]["details"][
        "fields"]
    unknown = counter.redeem(client, code="123456789012345678", amount_fen=100)
    assert unknown.status_code == 422
    _check(spec, "post", "/api/v1/merchant/redeem", unknown)
    anonymous = client.get("/api/v1/merchant/reports/summary")
    assert anonymous.status_code == 401
    _check(spec, "get", "/api/v1/merchant/reports/summary", anonymous)
    wrong_kind = client.get("/api/v1/mp/cards", headers=shop.headers())
    assert wrong_kind.status_code == 403
    _check(spec, "get", "/api/v1/mp/cards", wrong_kind)


def test_consumer_answers_conform_to_the_document(app, client, spec, counter, issue_token):
    from server.auth import PrincipalKind
    from server.consumers.models import Consumer
    from server.db import db

    card_id = counter.card(principal_fen=30000, bonus_fen=5000)
    counter.redeem(client, code=counter.code(card_id)["qr"], amount_fen=1000)
    with app.app_context():
        consumer_id = db.session.query(Consumer.id).scalar()
    headers = issue_token(kind=PrincipalKind.CONSUMER, id=consumer_id)
    for method, path, url, status in [
        ("get", "/api/v1/mp/cards", "/api/v1/mp/cards", 200),
        ("get", "/api/v1/mp/cards/{card_id}", f"/api/v1/mp/cards/{card_id}", 200),
        ("get", "/api/v1/mp/cards/{card_id}/transactions", f"/api/v1/mp/cards/{card_id}/transactions", 200),
        ("get", "/api/v1/mp/cards/{card_id}/top-up-options", f"/api/v1/mp/cards/{card_id}/top-up-options", 200),
        # a refused refund quote (NOT_REFUNDABLE) is the envelope
        ("get", "/api/v1/mp/cards/{card_id}/refund-quote", f"/api/v1/mp/cards/{card_id}/refund-quote", 422),
        ("post", "/api/v1/mp/cards/{card_id}/codes", f"/api/v1/mp/cards/{card_id}/codes", 201),
        ("get", "/api/v1/mp/cards/{card_id}", "/api/v1/mp/cards/999999", 404),
    ]:
        response = client.open(url, method=method.upper(), headers=headers)
        assert response.status_code == status, (url, response.get_json())
        _check(spec, method, path, response)
    items = client.get(f"/api/v1/mp/cards/{card_id}/transactions", headers=headers).get_json()["items"]
    assert items, "the redemption and the opening credit are transactions"


def test_open_api_answers_conform_to_the_document(spec, client, shop, app):
    from tests.open_support import OpenApi

    api = OpenApi(app, client, shop)
    created = api.create_key()
    _check(spec, "post", "/api/v1/merchant/api-keys", created)
    _check(spec, "get", "/api/v1/merchant/api-keys", client.get("/api/v1/merchant/api-keys",
                                                                   headers=shop.headers("owner")))
    issued = api.issue(api.batch())
    assert issued.status_code == 201
    card_no = _check(spec, "post", "/open/v1/cards", issued)["card_no"]
    topped = api.top_up(card_no, 30000, "ERP-1")
    assert topped.status_code == 201, topped.get_json()
    _check(spec, "post", "/open/v1/cards/{card_no}/top-ups", topped)
    receipt = api.redeem(card_no, amount_fen=2500, external_order_no="SHOP-1")
    assert receipt.status_code == 200, receipt.get_json()
    redemption_id = _check(spec, "post", "/open/v1/redemptions", receipt)["redemption_id"]
    reversed_ = api.post(f"/redemptions/{redemption_id}/reverse", {"reason": "退货"})
    assert reversed_.status_code == 200, reversed_.get_json()
    _check(spec, "post", "/open/v1/redemptions/{redemption_id}/reverse", reversed_)
    for path, url in [("/open/v1/cards/{card_no}", f"/cards/{card_no}"), ("/open/v1/cards", "/cards?external_id=M001"),
                      ("/open/v1/cards/{card_no}/transactions", f"/cards/{card_no}/transactions"),
                      ("/open/v1/reports/summary", "/reports/summary")]:
        response = api.get(url)
        assert response.status_code == 200, (url, response.get_json())
        _check(spec, "get", path, response)
    duplicate = api.top_up(card_no, 30000, "ERP-1")
    assert duplicate.status_code == 409
    _check(spec, "post", "/open/v1/cards/{card_no}/top-ups", duplicate)
