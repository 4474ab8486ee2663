"""Odd input on the open API gets the envelope's 400 (or 404), never a 500."""

import base64

import pytest

from tests.open_support import error_of

_HUGE = base64.urlsafe_b64encode(str(10**30).encode()).decode().rstrip("=")


@pytest.mark.parametrize("query", [
    f"/transactions?cursor={_HUGE}", "/transactions?cursor=!!!", "/transactions?limit=0", "/transactions?limit=abc",
])
def test_bad_page_arguments_of_a_cards_transactions(open_api, query):
    card = open_api.card()
    error_of(open_api.get(f"/cards/{card['card_no']}{query}"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", [
    f"/cards?external_id=M001&cursor={_HUGE}", "/cards?external_id=M001&cursor=!!!", "/cards?external_id=%00",
    "/cards?external_id=M001&limit=101", "/reports/summary?store_id=99999999999999999999999",
    "/reports/summary?from=2020-01-01&to=2026-01-01", "/reports/summary?to=2026-01-01&from=2026-02-01",
])
def test_bad_query_arguments(open_api, path):
    error_of(open_api.get(path), 400, "VALIDATION_ERROR")


def test_bodies_that_are_no_object_too_deep_or_with_extra_fields(open_api):
    card = open_api.card()
    deep = {"batch_id": 1, "member": {"external_id": "M1"}}
    for _ in range(200):
        deep = {"a": deep}
    error_of(open_api.post("/cards", deep), 400, "VALIDATION_ERROR")
    error_of(open_api.post("/cards", [1, 2]), 400, "VALIDATION_ERROR")
    extra = {"amount_fen": 10000, "external_order_no": "E", "bonus_fen": 99999}
    error_of(open_api.post(f"/cards/{card['card_no']}/top-ups", extra), 400, "VALIDATION_ERROR")
    error_of(open_api.post("/redemptions/1/reverse", {"reason": ""}), 400, "VALIDATION_ERROR")
    error_of(open_api.post("/redemptions/1/reverse", {"reason": "x\u0000"}), 400, "VALIDATION_ERROR")
