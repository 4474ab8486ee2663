"""Redemption codes: generated once as a streamed CSV, stored only as keyed hashes, voided, bulk-bound."""

import csv
import io
import re

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from server.audit.models import AuditEntry
from server.crypto import code_hash_key, keyed_hash
from server.db import db
from server.issuance.codes import CODE_ALPHABET
from server.issuance.models import Batch, RedemptionCode
from tests import issuance_support as support

CODE = re.compile(f"^[{CODE_ALPHABET}]{{16}}$")


@pytest.fixture
def code_batch(app, shop):
    return support.batch(app, shop.merchant_id, issue_method="code", quantity=50)


def _generate(client, batch_id, headers, count=10):
    """Generate and download in full (a streamed body left unread counts as an interrupted download)."""
    response = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": count}, headers=headers)
    response.get_data()
    return response


def _codes(response) -> list[str]:
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "code"
    return lines[1:]


def _batch(client, batch_id, shop):
    return client.get(f"/api/v1/merchant/batches/{batch_id}", headers=shop.headers()).get_json()


# --- generation --------------------------------------------------------------------------------------


def test_codes_come_back_once_as_csv(client, shop, code_batch):
    response = _generate(client, code_batch, shop.headers("operations"), count=20)
    assert response.status_code == 201
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    codes = _codes(response)
    assert len(codes) == len(set(codes)) == 20
    assert all(CODE.match(code) for code in codes)
    assert not set("".join(codes)) & set("0O1IL")
    assert _batch(client, code_batch, shop)["codes"] == {"unused": 20, "bound": 0, "void": 0}
    assert _batch(client, code_batch, shop)["codes_generated"] == 20


def test_only_keyed_hashes_are_stored_and_nothing_logs_the_codes(app, client, shop, code_batch, caplog):
    codes = _codes(_generate(client, code_batch, shop.headers(), count=5))
    with app.app_context():
        key = code_hash_key(current_app.config)
        stored = {row.code_hash for row in db.session.scalars(select(RedemptionCode))}
        assert stored == {keyed_hash(key, code) for code in codes}
        everything = " ".join(str(row) for table in ("redemption_codes", "audit_log", "batches")
                              for row in db.session.execute(text(f"SELECT * FROM {table}")))  # noqa: S608
    assert not any(code in everything for code in codes)
    assert not any(code in caplog.text for code in codes)


def test_the_total_never_passes_the_quantity(client, shop, code_batch):
    assert _generate(client, code_batch, shop.headers(), count=45).status_code == 201
    over = _generate(client, code_batch, shop.headers(), count=6)
    assert over.status_code == 409
    assert over.get_json()["error"]["details"] == {"available": 5}
    assert _generate(client, code_batch, shop.headers(), count=5).status_code == 201
    assert _batch(client, code_batch, shop)["codes_generated"] == 50


@pytest.mark.parametrize("count", [0, -1, 100_001, "10", 1.5])
def test_bad_counts_are_400(client, shop, code_batch, count):
    assert _generate(client, code_batch, shop.headers(), count=count).status_code == 400


@pytest.mark.parametrize(("fields", "status"), [({"issue_method": "claim"}, 409), ({"status": "closed"}, 409)])
def test_only_open_code_batches_generate_codes(app, client, shop, fields, status):
    batch_id = support.batch(app, shop.merchant_id, **{"issue_method": "code", **fields})
    assert _generate(client, batch_id, shop.headers()).status_code == status


def test_codes_may_be_printed_while_the_batch_awaits_approval(app, client, shop):
    batch_id = support.batch(app, shop.merchant_id, issue_method="code", status="pending_approval")
    assert _generate(client, batch_id, shop.headers()).status_code == 201


@pytest.mark.parametrize("role", ["cashier", "finance"])
def test_cashiers_and_finance_cannot_generate(client, shop, code_batch, role):
    assert _generate(client, code_batch, shop.headers(role)).status_code == 403


def test_generation_is_audited_with_the_count_only(app, client, shop, code_batch):
    _generate(client, code_batch, shop.headers(), count=3)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "codes.generate"))
        assert (entry.target_id, entry.detail) == (code_batch, {"count": 3})


def test_an_interrupted_download_voids_the_run_and_gives_the_quantity_back(app, client, shop):
    code_batch = support.batch(app, shop.merchant_id, issue_method="code", quantity=12_000)
    response = client.post(f"/api/v1/merchant/batches/{code_batch}/codes", json={"count": 12_000},
                           headers=shop.headers(), buffered=False)
    assert response.status_code == 201
    pieces = iter(response.response)
    assert next(pieces) == b"code\r\n"
    next(pieces)  # the first 5,000 codes reach the client, then it goes away
    response.close()
    with app.app_context():
        batch = db.session.get(Batch, code_batch)
        statuses = dict(db.session.execute(select(RedemptionCode.status, func.count())
                                           .group_by(RedemptionCode.status)).all())
        reason = db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "codes.void"))
    assert statuses == {"void": 12_000}
    assert batch.codes_generated == 0
    assert reason == {"voided": 12_000, "requested": 12_000, "reason": "兑换码下载中断"}


def test_a_complete_download_keeps_the_codes(app, client, shop, code_batch):
    response = client.post(f"/api/v1/merchant/batches/{code_batch}/codes", json={"count": 7},
                           headers=shop.headers(), buffered=False)
    assert len(b"".join(response.response).splitlines()) == 8
    response.close()
    assert _batch(client, code_batch, shop)["codes"] == {"unused": 7, "bound": 0, "void": 0}


def test_generation_is_throttled_per_merchant(app, client, shop, code_batch, monkeypatch):
    from server.issuance import downloads

    monkeypatch.setattr(downloads, "CODE_GENERATIONS_PER_HOUR", 2)
    assert [_generate(client, code_batch, shop.headers(), count=1).status_code for _ in range(3)] == [201, 201, 429]


# --- voiding -----------------------------------------------------------------------------------------


def _void(client, batch_id, headers, **body):
    return client.post(f"/api/v1/merchant/batches/{batch_id}/codes/void", json=body, headers=headers)


def test_listed_codes_are_voided_and_their_quantity_returns(client, shop, code_batch):
    codes = _codes(_generate(client, code_batch, shop.headers(), count=5))
    response = _void(client, code_batch, shop.headers("operations"), codes=[codes[0].lower(), codes[1], "UNKNOWN"],
                     reason="印刷错误")
    assert response.status_code == 200
    body = response.get_json()
    assert body["voided"] == 2
    assert body["batch"]["codes"] == {"unused": 3, "bound": 0, "void": 2}
    assert body["batch"]["codes_generated"] == 3
    assert _void(client, code_batch, shop.headers(), codes=codes[:2]).get_json()["voided"] == 0


def test_all_unused_codes_of_a_batch_are_voided_but_bound_ones_stay(app, client, shop, code_batch, issue_token):
    codes = _codes(_generate(client, code_batch, shop.headers(), count=4))
    consumer_id = support.consumer(app)
    bound = client.post("/api/v1/mp/cards/bind", json={"code": codes[0]},
                        headers=support.consumer_headers(issue_token, consumer_id))
    assert bound.status_code == 201
    body = _void(client, code_batch, shop.headers(), all_unused=True).get_json()
    assert body["voided"] == 3
    assert body["batch"]["codes"] == {"unused": 0, "bound": 1, "void": 3}


@pytest.mark.parametrize("body", [{}, {"codes": ["A"], "all_unused": True}, {"codes": []}, {"all_unused": False}])
def test_void_takes_codes_or_all_unused(client, shop, code_batch, body):
    assert _void(client, code_batch, shop.headers(), **body).status_code == 400


def test_cashiers_cannot_void(client, shop, code_batch):
    assert _void(client, code_batch, shop.headers("cashier"), all_unused=True).status_code == 403


# --- bulk binding by an operator ---------------------------------------------------------------------


def _upload(client, batch_id, headers, content: str):
    return client.post(f"/api/v1/merchant/batches/{batch_id}/codes/bind", headers=headers,
                       data={"file": (io.BytesIO(content.encode("utf-8-sig")), "codes.csv")},
                       content_type="multipart/form-data")


def test_bulk_bind_answers_per_row_without_echoing_codes(app, client, shop, code_batch):
    codes = _codes(_generate(client, code_batch, shop.headers(), count=3))
    first, second = support.consumer(app, "o-alice"), support.consumer(app, "o-bob")
    rows = [(codes[0], "o-alice"), (codes[1], "o-nobody"), ("WRONGCODE2345678", "o-bob"), (codes[0], "o-bob"),
            (codes[2].lower(), "o-bob")]
    content = "code,openid\n" + "".join(f"{code},{openid}\n" for code, openid in rows)
    response = _upload(client, code_batch, shop.headers("operations"), content)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    results = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["code_suffix"], r["openid"], r["result"]) for r in results] == [
        (codes[0][-4:], "o-alice", "ok"), (codes[1][-4:], "o-nobody", "CONSUMER_NOT_FOUND"),
        ("5678", "o-bob", "CODE_INVALID"), (codes[0][-4:], "o-bob", "CODE_INVALID"), (codes[2][-4:], "o-bob", "ok")]
    assert not any(code in response.get_data(as_text=True) for code in codes)
    with app.app_context():
        from server.cards.models import Card

        owners = {card.id: card.owner_id for card in db.session.scalars(select(Card))}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "codes.bulk_bind"))
    assert owners == {int(results[0]["card_id"]): first, int(results[4]["card_id"]): second}
    assert entry.detail == {"rows": 5, "bound": 2}
    assert _batch(client, code_batch, shop)["issued_count"] == 2


def test_bulk_bind_only_binds_codes_of_the_chosen_batch(app, client, shop, code_batch):
    other_batch = support.batch(app, shop.merchant_id, issue_method="code")
    code = _codes(_generate(client, other_batch, shop.headers(), count=1))[0]
    support.consumer(app, "o-carol")
    response = _upload(client, code_batch, shop.headers(), f"code,openid\n{code},o-carol\n")
    assert "CODE_INVALID" in response.get_data(as_text=True)


def test_bulk_bind_of_an_unapproved_batch_binds_nothing(app, client, shop):
    batch_id = support.batch(app, shop.merchant_id, issue_method="code", status="pending_approval")
    code = _codes(_generate(client, batch_id, shop.headers(), count=1))[0]
    support.consumer(app, "o-dave")
    response = _upload(client, batch_id, shop.headers(), f"code,openid\n{code},o-dave\n")
    assert response.get_data(as_text=True).splitlines()[1].endswith(",CODE_INVALID,")


@pytest.mark.parametrize("content", ["", "openid,code\nA,B\n", "code,openid\n", "code\nABC\n"])
def test_bulk_bind_needs_the_header_and_rows(client, shop, code_batch, content):
    response = _upload(client, code_batch, shop.headers(), content)
    assert response.status_code == 400
    assert "file" in response.get_json()["error"]["details"]["fields"]


def test_bulk_bind_needs_a_file(client, shop, code_batch):
    response = client.post(f"/api/v1/merchant/batches/{code_batch}/codes/bind", headers=shop.headers(), data={},
                           content_type="multipart/form-data")
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["cashier", "finance"])
def test_cashiers_and_finance_cannot_bulk_bind(client, shop, code_batch, role):
    assert _upload(client, code_batch, shop.headers(role), "code,openid\nA,B\n").status_code == 403
