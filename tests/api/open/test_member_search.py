"""Staff find the cards the open API issued to the merchant's members by their external id or phone."""

from __future__ import annotations

from server.cards.members import search_cards
from server.db import db


def _found(app, merchant_id: int, query: str) -> list[str]:
    with app.app_context():
        return [row["card_no"] for row in search_cards(db.session, merchant_id, query)]


def test_a_member_is_found_by_external_id_masked_phone_and_the_phones_last_digits(app, open_api, other_merchant):
    issued = open_api.issue(open_api.batch(), "CRM-0042", mobile="13812345678").get_json()
    merchant_id = open_api.shop.merchant_id
    assert issued["member"]["mobile_masked"] == "138****5678"
    for query in ("CRM-0042", "138****5678", "138 **** 5678", "5678"):
        assert _found(app, merchant_id, query) == [issued["card_no"]], query
    assert _found(app, merchant_id, "CRM-0043") == []
    assert _found(app, merchant_id, "567") == []  # too few digits to mean a phone
    assert _found(app, other_merchant.merchant_id, "CRM-0042") == []  # another merchant's members stay theirs
