"""Property-based fuzzing of the whole API from its own OpenAPI document: never a 5xx.

schemathesis generates requests for every operation of GET /api/v1/openapi.json and sends them
through the Flask app with a staff (owner), consumer or platform-admin token — whichever the path
asks for — so the generated values reach the views, the schemas and PostgreSQL, not just the auth
check. Every response must be below 500; error responses must be API.md's envelope as documented
(``default`` response), and any response whose status the document describes must match it.

Bounded so it fits CI: ``FUZZ_EXAMPLES`` examples per operation (default 100, derandomized so a
failure reproduces). Run more locally with ``FUZZ_EXAMPLES=500 make fuzz``.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import issuance_support as support
from tests.conftest import admin_headers
from tests.open_support import OpenApi

pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))


@pytest.fixture
def credentials(app, client, shop, issue_token):
    """A credential for each principal kind (an API key on /open/v1/), over a merchant with a store, a
    product and a claim batch."""
    support.batch(app, shop.merchant_id)
    consumer_id = support.consumer(app)
    return {
        "/open/v1/": {"Authorization": f"Bearer {OpenApi(app, client, shop).default_key}"},
        "/api/v1/mp/": issue_token(kind="consumer", id=consumer_id),
        "/api/v1/platform/": admin_headers(app),
        "/api/v1/": shop.headers("owner"),
    }


def _headers_for(path: str, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    return next((headers for prefix, headers in credentials.items() if path.startswith(prefix)), {})


def _upstream_unreachable(response) -> bool:
    """502 UPSTREAM_ERROR: the test machine cannot reach WeChat (mp login) — WeChat's answer, not ours."""
    return response.status_code == 502 and b'"UPSTREAM_ERROR"' in response.content


def _fuzz(operation, credentials, figures) -> None:
    documented = operation.definition.raw.get("responses", {})
    # Valid requests, and requests that break the document (wrong types, out-of-range numbers, …).
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case) -> None:
        headers = {**_headers_for(case.path, credentials)}
        if not (case.headers and "Idempotency-Key" in case.headers):
            headers["Idempotency-Key"] = f"fuzz-{figures['cases']}"
        response = case.call(headers=headers)
        figures["cases"] += 1
        if _upstream_unreachable(response):
            figures["upstream"] += 1
        else:
            figures["server_errors"] += response.status_code >= 500
            case.validate_response(response, checks=[not_a_server_error])
        described = response.status_code >= 400 or str(response.status_code) in documented
        content_type = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type"), "")
        if described and content_type.startswith("application/json"):
            figures["conformance_checked"] += 1
            case.validate_response(response, checks=[response_schema_conformance])

    run()


def test_no_operation_answers_5xx(app, credentials, caplog):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    figures = {"operations": 0, "cases": 0, "server_errors": 0, "upstream": 0, "conformance_checked": 0}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        try:
            _fuzz(operation, credentials, figures)
        except (Exception, BaseExceptionGroup) as failure:  # every operation is fuzzed; failures reported together
            failures.append(f"{operation.label}: {str(failure)[:1500]}")
    print(f"\nfuzz: {figures['operations']} operations, {figures['cases']} cases, "
          f"{figures['server_errors']} responses of 5xx ({figures['upstream']} 502 from WeChat unreachable), "
          f"{figures['conformance_checked']} error responses checked against the document, "
          f"{len(failures)} failing operations")
    assert not failures, "\n\n".join(failures)
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("value refused by the database")]
    assert not refused, f"input reached the database unbounded (answered 400 by the safety net): {refused[:5]}"
