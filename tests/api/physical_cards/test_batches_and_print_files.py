"""Physical batches create their printed cards when approved; print files for owner and operations only."""

from __future__ import annotations

import csv
import io

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.cards.models import Card
from server.db import db
from tests import issuance_support as support
from tests.api.physical_cards.conftest import create_physical_batch, error, printed_cards

MM = 72 / 25.4


def test_cards_exist_once_the_batch_is_approved(app, client, shop):
    pending = create_physical_batch(app, client, shop, approve=False)
    assert pending.cards == []
    assert error(client.get(f"/api/v1/merchant/batches/{pending.batch_id}/print.csv", headers=shop.headers())) == (
        409, "STATE_CONFLICT")
    for role in ("operations", "finance"):
        client.post(f"/api/v1/merchant/batches/{pending.batch_id}/approve", json={}, headers=shop.headers(role))
    cards = printed_cards(app, pending.batch_id)
    assert len(cards) == 4 and len({no for no, _ in cards}) == 4
    with app.app_context():
        rows = db.session.scalars(select(Card).where(Card.batch_id == pending.batch_id)).all()
        assert {(r.status, r.owner_id, r.principal_fen, r.activated_at) for r in rows} == {("inactive", None, 0, None)}
        assert all(r.card_no.startswith("6201") and len(r.card_no) == 16 for r in rows)
    batch = client.get(f"/api/v1/merchant/batches/{pending.batch_id}", headers=shop.headers()).get_json()
    assert (batch["status"], batch["issued_count"], batch["issue_method"]) == ("active", 4, "physical")


def test_a_physical_product_needs_a_physical_batch_and_back(app, client, shop):
    physical = support.product(app, shop.merchant_id, form="physical")
    virtual = support.product(app, shop.merchant_id)
    channel_id = support.channel(app, shop.merchant_id)
    for product_id, method in ((physical, "purchase"), (virtual, "physical")):
        response = client.post("/api/v1/merchant/batches", headers=shop.headers(), json={
            "product_id": product_id, "channel_id": channel_id, "name": "x", "quantity": 3, "price_fen": 5000,
            "issue_method": method})
        assert error(response) == (400, "VALIDATION_ERROR")
        assert "issue_method" in response.get_json()["error"]["details"]["fields"]


def test_print_csv_lists_number_secret_and_barcode(app, client, shop, printed):
    response = client.get(f"/api/v1/merchant/batches/{printed.batch_id}/print.csv", headers=shop.headers("operations"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["card_no", "secret", "barcode"]
    assert [tuple(row) for row in rows[1:]] == [(no, secret, no) for no, secret in printed.cards]
    with app.app_context():
        audited = db.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "batch.print_file")).all()
    assert audited == [{"format": "csv", "cards": 4}]


@pytest.mark.parametrize("role", ["cashier", "manager", "finance"])
@pytest.mark.parametrize("name", ["print.csv", "print.pdf"])
def test_print_files_are_for_owner_and_operations_only(client, shop, printed, role, name):
    response = client.get(f"/api/v1/merchant/batches/{printed.batch_id}/{name}", headers=shop.headers(role))
    assert error(response) == (403, "FORBIDDEN")


@pytest.mark.parametrize("name", ["print.csv", "print.pdf"])
def test_no_print_file_for_a_batch_that_is_not_physical(app, client, shop, name):
    batch_id = support.batch(app, shop.merchant_id, issue_method="claim")
    assert error(client.get(f"/api/v1/merchant/batches/{batch_id}/{name}", headers=shop.headers())) == (
        409, "STATE_CONFLICT")


def test_another_merchants_batch_is_not_found(app, client, shop, printed):
    from tests import factories

    with app.app_context():
        other = factories.merchant(db.session)
        db.session.commit()
        other_id = other.id
    response = client.get(f"/api/v1/merchant/batches/{printed.batch_id}/print.csv",
                          headers=shop.headers(merchant_id=other_id))
    assert error(response) == (404, "NOT_FOUND")


def test_print_pdf_has_one_cr80_page_per_card_with_a_readable_barcode(client, shop, printed):
    response = client.get(f"/api/v1/merchant/batches/{printed.batch_id}/print.pdf", headers=shop.headers())
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.get_data()
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == len(printed.cards)
    for page in reader.pages:
        trim, media = page.trimbox, page.mediabox
        assert (float(trim.width) / MM, float(trim.height) / MM) == pytest.approx((85.60, 53.98), abs=0.01)
        assert (float(media.width) / MM, float(media.height) / MM) == pytest.approx((91.60, 59.98), abs=0.01)
    text = reader.pages[1].extract_text()
    assert printed.cards[1][1] in text  # the secret, in its scratch-off panel
    document = pypdfium2.PdfDocument(data)
    for index in (0, len(printed.cards) - 1):
        image = document[index].render(scale=300 / 72).to_pil()
        decoded = [(r.format, r.text) for r in zxingcpp.read_barcodes(image)]
        assert (zxingcpp.BarcodeFormat.Code128, printed.cards[index][0]) in decoded


def test_print_pdf_uses_the_uploaded_face(app, client, shop):
    from PIL import Image

    from server.products.models import CardProduct
    from server.storage import document_storage

    out = io.BytesIO()
    Image.new("RGB", (1011, 638), (0, 160, 80)).save(out, format="PNG")
    printed = create_physical_batch(app, client, shop, quantity=1)
    with app.test_request_context():
        product = db.session.get(CardProduct, printed.product_id)
        product.face_image = {"key": document_storage().save(out.getvalue(), "png"), "width": 1011, "height": 638}
        db.session.commit()
    data = client.get(f"/api/v1/merchant/batches/{printed.batch_id}/print.pdf", headers=shop.headers()).get_data()
    image = pypdfium2.PdfDocument(data)[0].render(scale=1).to_pil().convert("RGB")
    assert image.getpixel((3, 3)) == pytest.approx((0, 160, 80), abs=3)  # the bleed is the uploaded green
