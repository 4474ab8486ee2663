"""Face artwork of a physical product: print-sized (FACE_SIZE otherwise); the drawn face renders at 300 dpi."""

import io

from PIL import Image

from server.cards.face_images import PRINT_SIZE, render_print_face


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 16, 46)).save(out, format="PNG")
    return out.getvalue()


def _draft(client, shop, form="physical"):
    response = client.post("/api/v1/merchant/card-products", headers=shop.headers(), json={
        "name": "实体储值卡", "kind": "stored_value", "form": form, "face_value_fen": 10000,
        "terms": "记名卡可挂失补办。"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _upload(client, shop, product_id, data, role="owner"):
    return client.put(f"/api/v1/merchant/card-products/{product_id}/face", headers=shop.headers(role),
                      data={"file": (io.BytesIO(data), "face.png")}, content_type="multipart/form-data")


def _codes(findings):
    return [(f["field"], f["code"]) for f in findings]


def test_a_small_face_on_a_physical_product_is_face_size_and_blocks_submission(client, shop):
    product = _draft(client, shop)
    assert product["form"] == "physical" and product["face_image"] is None
    response = _upload(client, shop, product["product_id"], _png(800, 505))
    assert response.status_code == 200
    body = response.get_json()
    assert body["face_image"] == {"width": 800, "height": 505}
    face_errors = [f for f in body["validation"]["errors"] if f["code"] == "FACE_SIZE"]
    assert _codes(face_errors) == [("face_image", "FACE_SIZE")] and "800×505" in face_errors[0]["message"]
    submitted = client.post(f"/api/v1/merchant/card-products/{product['product_id']}/submit", headers=shop.headers())
    assert submitted.status_code == 422 and submitted.get_json()["error"]["code"] == "VALIDATION_FAILED"

    fixed = _upload(client, shop, product["product_id"], _png(1011, 638)).get_json()
    assert ("face_image", "FACE_SIZE") not in _codes(fixed["validation"]["errors"])


def test_a_virtual_product_takes_any_face_and_uploads_need_an_image(client, shop):
    product = _draft(client, shop, form="virtual")
    body = _upload(client, shop, product["product_id"], _png(640, 400)).get_json()
    assert ("face_image", "FACE_SIZE") not in _codes(body["validation"]["errors"])
    bad = _upload(client, shop, product["product_id"], b"not an image")
    assert bad.status_code == 400 and "file" in bad.get_json()["error"]["details"]["fields"]
    assert _upload(client, shop, product["product_id"], _png(640, 400), role="cashier").status_code == 403


def test_the_drawn_face_renders_at_300_dpi_for_print():
    png = render_print_face(merchant_name="巷口咖啡", product_name="实体储值卡", color="#6B4226", kind="stored_value")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == PRINT_SIZE == (1011, 638)
        assert image.mode == "RGB"  # opaque: the print file scales it over the bleed
