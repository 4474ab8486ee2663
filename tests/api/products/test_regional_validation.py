"""Regional rules apply to a product when any store in its scope lies in the region ("all": every store)."""

import pytest

from server.db import db
from server.merchants.models import Merchant
from tests import factories

#: Terms that say nothing about cancelling: Shanghai refuses them, elsewhere they pass.
SILENT = "本卡可转赠他人，记名卡遗失可挂失补办。"
#: A full-refund window of 3 days: Beijing wants 7.
SHORT_WINDOW = "购卡之日起3日内且未消费的，可全额退款，不收取任何费用。"


def _validate(client, shop, **fields):
    body = {"name": "会员储值卡", "kind": "stored_value", "face_value_fen": 10000, "terms": SILENT, **fields}
    response = client.post("/api/v1/merchant/card-products/validate", headers=shop.headers(), json=body)
    assert response.status_code == 200
    return {e["code"] for e in response.get_json()["errors"]}


@pytest.fixture
def beijing_store_id(app, shop):
    with app.app_context():
        store = factories.store(db.session, db.session.get(Merchant, shop.merchant_id), name="朝阳店",
                                region_code="110105")
        db.session.commit()
        return store.id


def test_a_shanghai_store_in_scope_brings_shanghai_rules(client, shop):
    assert "REGION_TERMS_NO_CANCELLATION" in _validate(client, shop, store_scope=[shop.store_id])
    assert "REGION_TERMS_NO_CANCELLATION" in _validate(client, shop, store_scope="all")
    assert "REGION_TERMS_NO_CANCELLATION" in _validate(client, shop)  # the default scope is every store
    assert "REGION_TERMS_NO_CANCELLATION" not in _validate(client, shop, store_scope=[shop.other_store_id])


def test_a_beijing_store_in_scope_brings_beijing_rules(client, shop, beijing_store_id):
    terms = SHORT_WINDOW
    assert "REGION_COOLING_OFF_TOO_SHORT" in _validate(client, shop, terms=terms, store_scope=[beijing_store_id])
    assert "REGION_COOLING_OFF_TOO_SHORT" in _validate(client, shop, terms=terms, store_scope="all")
    mixed = [shop.other_store_id, beijing_store_id]
    assert "REGION_COOLING_OFF_TOO_SHORT" in _validate(client, shop, terms=terms, store_scope=mixed)
    assert "REGION_COOLING_OFF_TOO_SHORT" not in _validate(client, shop, terms=terms, store_scope=[shop.store_id])


def test_the_merchants_industry_selects_industry_rules(client, app, shop):
    body = {"kind": "count", "name": "私教课程包", "uses": 61, "service_name": "私教课", "face_value_fen": 100000,
            "store_scope": [shop.store_id], "terms": "购卡之日起7日内且未使用的，可全额退款。"}
    assert "REGION_COUNT_USES_CAP_EXCEEDED" not in _validate(client, shop, **body)
    with app.app_context():
        db.session.get(Merchant, shop.merchant_id).industry = "fitness"
        db.session.commit()
    assert "REGION_COUNT_USES_CAP_EXCEEDED" in _validate(client, shop, **body)


def test_a_saved_product_records_the_regional_findings(client, shop):
    response = client.post("/api/v1/merchant/card-products", headers=shop.headers(),
                           json={"name": "会员储值卡", "kind": "stored_value", "face_value_fen": 10000,
                                 "terms": SILENT, "store_scope": [shop.store_id]})
    assert response.status_code == 201
    assert "REGION_TERMS_NO_CANCELLATION" in {e["code"] for e in response.get_json()["validation"]["errors"]}
