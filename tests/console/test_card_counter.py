"""Printed cards in the console: selling and activating, report-lost and replacement at the counter,
redeeming with a scanned number and the secret (CARDNO:SECRET), and the batch's print files."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.cards.models import Card
from server.db import db
from tests.api.physical_cards.conftest import PRICE_FEN, create_physical_batch
from tests.console.helpers import csrf_token


def _post(client, path: str, body: dict, key: str | None = None):
    return client.post(path, json=body, headers={
        "X-CSRFToken": csrf_token(client), "Accept": "application/json", "Idempotency-Key": key or str(uuid.uuid4())})


def _status(app, card_no: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Card.status).where(Card.card_no == card_no))


def test_a_cashier_sells_a_printed_card_and_redeems_it_with_number_and_secret(app, client, staff_client, shop):
    printed = create_physical_batch(app, client, shop)
    card_no, secret = printed.cards[0]
    cashier = staff_client("cashier")
    page = cashier.get("/console/card-counter").get_data(as_text=True)
    assert 'id="activate-card-no"' in page and 'id="replace-form"' not in page  # cashiers don't replace
    wrong = _post(cashier, "/console/card-counter/activate", {"card_no": card_no, "store_id": str(shop.store_id),
                                                              "paid_fen": "79.00"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "AMOUNT_NOT_ALLOWED"
    key = str(uuid.uuid4())
    body = {"card_no": card_no, "store_id": str(shop.store_id), "paid_fen": f"{PRICE_FEN / 100:.2f}"}
    sold = _post(cashier, "/console/card-counter/activate", body, key)
    assert sold.status_code == 200, sold.get_json()
    assert sold.get_json()["card"]["balance_fen"] == 10000 and "已激活" in sold.get_json()["message"]
    assert _post(cashier, "/console/card-counter/activate", body, key).get_json() == sold.get_json()
    assert _status(app, card_no) == "active"

    assert 'id="redeem-secret" name="secret"' in cashier.get("/console/redeem").get_data(as_text=True)
    refused = _post(cashier, "/console/redeem", {"code": f"{card_no}:000", "store_id": str(shop.store_id),
                                                 "amount_fen": "12.00"})
    assert refused.get_json()["error"]["message"] == "卡号或卡密不正确，请核对卡背面的卡号和刮开涂层下的卡密"
    receipt = _post(cashier, "/console/redeem", {"code": f"{card_no}:{secret}", "store_id": str(shop.store_id),
                                                 "amount_fen": "12.00"})
    assert receipt.status_code == 200 and receipt.get_json()["receipt"]["deducted_fen"] == 1200


def test_report_lost_and_replace_at_the_counter(app, client, staff_client, shop):
    printed = create_physical_batch(app, client, shop)
    (card_no, _), (stock_no, _) = printed.cards[:2]
    owner = staff_client("owner")
    _post(owner, "/console/card-counter/activate", {"card_no": card_no, "store_id": str(shop.store_id),
                                                    "paid_fen": "80"})
    lost = _post(staff_client("cashier"), "/console/card-counter/report-lost", {"card_no": card_no})
    assert lost.status_code == 200 and lost.get_json()["card"]["status"] == "frozen"
    assert _post(staff_client("cashier"), "/console/card-counter/replace", {"card_no": card_no}).status_code == 403
    replaced = _post(owner, "/console/card-counter/replace", {"card_no": card_no, "new_card_no": stock_no})
    assert replaced.status_code == 200, replaced.get_json()
    assert (replaced.get_json()["card"]["card_no"], replaced.get_json()["card"]["balance_fen"]) == (stock_no, 10000)
    assert (_status(app, card_no), _status(app, stock_no)) == ("replaced", "active")


def test_the_batch_page_offers_print_files_to_owner_and_operations(app, client, staff_client, shop):
    printed = create_physical_batch(app, client, shop)
    page = staff_client("operations").get(f"/console/batches/{printed.batch_id}").get_data(as_text=True)
    assert 'data-print="pdf"' in page and 'data-print="csv"' in page
    download = staff_client("operations").get(f"/console/batches/{printed.batch_id}/print.csv")
    assert download.status_code == 200 and download.get_data(as_text=True).startswith("card_no,secret,barcode")
    manager = staff_client("manager")
    assert 'data-print="pdf"' not in manager.get(f"/console/batches/{printed.batch_id}").get_data(as_text=True)
    assert manager.get(f"/console/batches/{printed.batch_id}/print.pdf").status_code == 403


def test_a_physical_product_made_in_the_console_takes_a_face_upload(app, staff_client, make_product):
    import io

    from PIL import Image
    from werkzeug.datastructures import MultiDict

    from server.console.forms import product_from_form
    from server.products.models import CardProduct

    assert product_from_form(MultiDict({"form": "physical"}))["form"] == "physical"
    assert product_from_form(MultiDict())["form"] == "virtual"
    product_id = make_product(form="physical")
    owner = staff_client("owner")
    page = owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    assert '<option value="physical" selected>实体卡</option>' in page
    assert "data-face-upload" in page and "1011×638" in page
    out = io.BytesIO()
    Image.new("RGB", (800, 505), (0, 0, 0)).save(out, format="PNG")
    uploaded = owner.post(f"/console/products/{product_id}/face", data={
        "csrf_token": csrf_token(owner), "file": (io.BytesIO(out.getvalue()), "face.png")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 303
    page = owner.get(f"/console/products/{product_id}").get_data(as_text=True)
    assert "已上传 800×505 像素" in page and "FACE_SIZE" in page  # the finding naming the size found
    with app.app_context():
        codes = [f["code"] for f in db.session.get(CardProduct, product_id).validation["errors"]]
    assert "FACE_SIZE" in codes
