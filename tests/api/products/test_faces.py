"""Card faces served for cards: a PNG with the merchant and product drawn in Chinese, cached."""

import io

from PIL import Image

from server.cards.face_links import FaceLinks
from server.db import db
from tests import factories


def test_card_face_png_has_chinese_text_and_revalidates_by_etag(client, app):
    with app.app_context():
        merchant = factories.merchant(db.session, name="巷口咖啡")
        product = factories.product(db.session, merchant, name="咖啡储值卡", style={"color": "#6B4226"})
        card = factories.card(db.session, product, principal_fen=100, card_no="8101234567890123")
        db.session.commit()
        url = FaceLinks.from_config(app.config).card(card.id).removeprefix("http://127.0.0.1:5000")
    response = client.get(url)
    assert response.status_code == 200 and response.content_type == "image/png"
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    assert image.size == (640, 400)
    # The merchant-name area holds text pixels far from the brown background.
    background = image.getpixel((600, 380))
    text_area = image.crop((30, 20, 400, 140))
    distance = [sum(abs(a - b) for a, b in zip(px, background, strict=True)) for px in text_area.get_flattened_data()]
    inked = sum(1 for d in distance if d > 200)
    assert inked > 300
    cached = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304
