"""Consumer wallet: my cards, dynamic codes and their QR, transactions, transfers."""

import io

import zxingcpp
from PIL import Image

from server.consumers.models import Consumer
from server.db import db


def _consumer(app, issue_token, openid):
    with app.app_context():
        consumer = Consumer(openid=openid)
        db.session.add(consumer)
        db.session.commit()
        return consumer.id, issue_token(kind="consumer", id=consumer.id)


def _holder(app, issue_token):
    with app.app_context():
        consumer_id = db.session.query(Consumer.id).filter_by(openid="o_holder_openid").scalar()
    return consumer_id, issue_token(kind="consumer", id=consumer_id)


def test_my_cards_and_detail_with_isolation(client, counter, app, issue_token):
    card_id = counter.card(principal_fen=12345, bonus_fen=100)
    _, holder = _holder(app, issue_token)
    items = client.get("/api/v1/mp/cards", headers=holder).get_json()["items"]
    assert [c["card_id"] for c in items] == [card_id]
    card = client.get(f"/api/v1/mp/cards/{card_id}", headers=holder).get_json()
    assert (card["balance_fen"], card["principal_fen"], card["bonus_fen"]) == (12445, 12345, 100)
    assert card["merchant"]["merchant_id"] == counter.shop.merchant_id and card["face_image_url"]
    _, stranger = _consumer(app, issue_token, "o_stranger")
    assert client.get(f"/api/v1/mp/cards/{card_id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/mp/cards", headers=stranger).get_json()["items"] == []
    assert client.get("/api/v1/mp/cards", headers=counter.shop.headers("owner")).status_code == 403


def test_code_qr_png_decodes_to_the_payload_and_redeems(client, counter, app, issue_token):
    card_id = counter.card(principal_fen=5000)
    _, holder = _holder(app, issue_token)
    response = client.post(f"/api/v1/mp/cards/{card_id}/codes", headers=holder)
    assert response.status_code == 201
    code = response.get_json()
    assert len(code["numeric_code"]) == 18 and code["expires_in"] == 60
    png = client.get(code["qr_png_url"].removeprefix("http://127.0.0.1:5000"))
    assert png.content_type == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [b.text for b in decoded] == [code["qr_payload"]]
    assert counter.redeem(client, code=code["numeric_code"], amount_fen=100).status_code == 200
    # Used: the image is gone too.
    second = counter.redeem(client, code=code["qr_payload"], amount_fen=100)
    assert second.get_json()["error"]["code"] == "CODE_INVALID"


def test_transactions_newest_first_with_balance_after_and_store(client, counter, app, issue_token):
    card_id = counter.card(principal_fen=10000, bonus_fen=1000)
    _, holder = _holder(app, issue_token)
    for bill in (1000, 2000):
        code = client.post(f"/api/v1/mp/cards/{card_id}/codes", headers=holder).get_json()["qr_payload"]
        counter.redeem(client, code=code, amount_fen=bill)
    page = client.get(f"/api/v1/mp/cards/{card_id}/transactions?limit=2", headers=holder).get_json()
    newest, older = page["items"]
    assert newest["type"] == "redeem" and newest["store_name"] == "一号店"
    assert newest["principal_fen"] + newest["bonus_fen"] == -1800  # 2000 at 90%
    assert newest["balance_after_fen"] == 11000 - 900 - 1800 and older["balance_after_fen"] == 11000 - 900
    rest = client.get(f"/api/v1/mp/cards/{card_id}/transactions?cursor={page['next_cursor']}",
                      headers=holder).get_json()
    assert [t["type"] for t in rest["items"]] == ["issue"] and rest["items"][0]["balance_after_fen"] == 11000
    assert rest["next_cursor"] is None


def test_transfer_end_to_end(client, counter, app, issue_token):
    card_id = counter.card(principal_fen=3000)
    _, giver = _holder(app, issue_token)
    old_code = client.post(f"/api/v1/mp/cards/{card_id}/codes", headers=giver).get_json()
    offer = client.post(f"/api/v1/mp/cards/{card_id}/transfers", headers=giver)
    assert offer.status_code == 201 and offer.get_json()["expires_in"] == 86400
    token = offer.get_json()["transfer_token"]
    assert client.post(f"/api/v1/mp/transfers/{token}/accept", headers=giver).status_code == 409
    _, taker = _consumer(app, issue_token, "o_taker")
    accepted = client.post(f"/api/v1/mp/transfers/{token}/accept", headers=taker)
    assert accepted.status_code == 200 and accepted.get_json()["balance_fen"] == 3000
    assert client.get(f"/api/v1/mp/cards/{card_id}", headers=giver).status_code == 404
    assert client.get(f"/api/v1/mp/cards/{card_id}", headers=taker).status_code == 200
    assert counter.redeem(client, code=old_code["qr_payload"], amount_fen=100).status_code == 422
    assert client.post(f"/api/v1/mp/transfers/{token}/accept", headers=taker).status_code == 404  # one-time


def test_non_transferable_product_is_422(client, counter, app, issue_token):
    from server.products.models import CardProduct

    card_id = counter.card(principal_fen=3000)
    with app.app_context():
        db.session.get(CardProduct, counter.product_ids["stored_value"]).transferable = False
        db.session.commit()
    _, holder = _holder(app, issue_token)
    response = client.post(f"/api/v1/mp/cards/{card_id}/transfers", headers=holder)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "NOT_TRANSFERABLE"


def test_code_issuance_is_rate_limited(client, counter, app, issue_token):
    card_id = counter.card(principal_fen=3000)
    _, holder = _holder(app, issue_token)
    statuses = [client.post(f"/api/v1/mp/cards/{card_id}/codes", headers=holder).status_code for _ in range(21)]
    assert statuses[:20] == [201] * 20 and statuses[20] == 429
