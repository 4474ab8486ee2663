"""The open endpoints in GET /api/v1/openapi.json: request and response schemas, the API-key scheme,
the Idempotency-Key header on every money move, and the error envelope for their error statuses."""

import pytest

OPEN_OPERATIONS = {
    ("post", "/open/v1/cards"): True,
    ("get", "/open/v1/cards"): False,
    ("get", "/open/v1/cards/{card_no}"): False,
    ("get", "/open/v1/cards/{card_no}/transactions"): False,
    ("post", "/open/v1/cards/{card_no}/top-ups"): True,
    ("post", "/open/v1/redemptions"): True,
    ("post", "/open/v1/redemptions/{redemption_id}/reverse"): True,
    ("get", "/open/v1/reports/summary"): False,
}


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _resolve(spec, node):
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def test_the_api_key_scheme_is_declared(spec):
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("method, path", list(OPEN_OPERATIONS))
def test_each_open_operation_is_documented(spec, method, path):
    operation = spec["paths"][path][method]
    assert operation["security"] == [{"ApiKey": []}]
    success = [status for status in operation["responses"] if status.startswith("2")]
    assert len(success) == 1
    body = _resolve(spec, operation["responses"][success[0]]["content"]["application/json"]["schema"])
    assert body["properties"], (method, path)
    errors = {"400", "401", "403", "429"}
    if "{" in path or method == "post":
        errors.add("404")
    if method == "post":
        errors.add("409")
    for status in errors:
        schema = _resolve(spec, operation["responses"][status])["content"]["application/json"]["schema"]
        assert _resolve(spec, schema)["required"] == ["error"], (method, path, status)
    assert "Retry-After" in _resolve(spec, operation["responses"]["429"])["headers"]
    headers = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert bool(headers) == OPEN_OPERATIONS[(method, path)]
    if headers:
        assert headers[0]["required"] is True
    if method == "post":
        assert _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])["properties"]


def test_the_key_endpoints_are_documented(spec):
    created = spec["paths"]["/api/v1/merchant/api-keys"]["post"]["responses"]["201"]
    assert "key" in _resolve(spec, created["content"]["application/json"]["schema"])["properties"]
    revoke = spec["paths"]["/api/v1/merchant/api-keys/{api_key_id}"]["delete"]["responses"]
    assert {"204", "401", "403", "404"} <= set(revoke)
    not_found = _resolve(spec, revoke["404"])["content"]["application/json"]["schema"]
    assert "error" in _resolve(spec, not_found)["properties"]
