"""Mini-program: binding a redemption code (once, rate-limited, one uniform error) and revealing a secret."""

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.cards.models import Card
from server.crypto import decrypt
from server.db import db, utcnow
from server.issuance.models import RedemptionCode
from tests import issuance_support as support


@pytest.fixture
def codes(app, client, shop):
    """Five codes of an active code batch, and the batch id."""

    def generate(**fields):
        batch_id = support.batch(app, shop.merchant_id, **{"issue_method": "code", "quantity": 20, **fields})
        response = client.post(f"/api/v1/merchant/batches/{batch_id}/codes", json={"count": 5},
                               headers=shop.headers())
        return response.get_data(as_text=True).splitlines()[1:], batch_id

    return generate


@pytest.fixture
def consumer(app, issue_token):
    def make():
        consumer_id = support.consumer(app)
        return consumer_id, support.consumer_headers(issue_token, consumer_id)

    return make


def _bind(client, code, headers, **environ):
    return client.post("/api/v1/mp/cards/bind", json={"code": code}, headers=headers, environ_base=environ)


def _error(response):
    return response.status_code, response.get_json()["error"]["code"]


def test_a_code_binds_a_card_to_the_consumer(app, client, shop, codes, consumer):
    generated, batch_id = codes()
    consumer_id, headers = consumer()
    response = _bind(client, generated[0], headers)
    assert response.status_code == 201
    card = response.get_json()
    assert card["status"] == "active" and card["bonus_fen"] == 10000  # a free gift code: bonus from promotion
    with app.app_context():
        row = db.session.scalar(select(RedemptionCode).where(RedemptionCode.card_id == card["card_id"]))
        assert (row.status, row.bound_at is not None) == ("bound", True)
        assert db.session.get(Card, card["card_id"]).owner_id == consumer_id
    detail = client.get(f"/api/v1/merchant/batches/{batch_id}", headers=shop.headers()).get_json()
    assert (detail["issued_count"], detail["codes"]["bound"]) == (1, 1)


def test_a_paid_code_batch_books_principal(app, client, shop, codes, consumer):
    generated, _ = codes(price_fen=10000)
    card = _bind(client, generated[0], consumer()[1]).get_json()
    assert (card["principal_fen"], card["bonus_fen"]) == (10000, 0)


def test_codes_are_typed_case_and_separator_blind(client, codes, consumer):
    generated, _ = codes()
    code = generated[0].lower()
    spaced = "-".join(code[i:i + 4] for i in range(0, 16, 4))
    assert _bind(client, f" {spaced} ", consumer()[1]).status_code == 201


def test_a_code_binds_exactly_once(app, client, codes, consumer):
    generated, _ = codes()
    assert _bind(client, generated[0], consumer()[1]).status_code == 201
    assert _error(_bind(client, generated[0], consumer()[1])) == (422, "CODE_INVALID")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Card)) == 1


def test_unknown_void_and_unapproved_codes_get_one_uniform_answer(app, client, shop, codes, consumer):
    generated, batch_id = codes()
    client.post(f"/api/v1/merchant/batches/{batch_id}/codes/void", json={"codes": [generated[1]]},
                headers=shop.headers())
    pending, _ = codes(status="pending_approval")
    paused, _ = codes(status="paused")
    ended, _ = codes(sale_end=utcnow() - timedelta(seconds=1))
    answers = [_bind(client, code, consumer()[1]).get_json()["error"]  # beside it only its own request id
               for code in ("23456789ABCDEFGH", generated[1], pending[0], paused[0], ended[0], "x")]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["code"] == "CODE_INVALID" and answers[0]["message"]


def test_the_per_user_limit_applies_to_codes(client, codes, consumer):
    generated, _ = codes(per_user_limit=1)
    _, headers = consumer()
    assert _bind(client, generated[0], headers).status_code == 201
    assert _error(_bind(client, generated[1], headers)) == (409, "LIMIT_REACHED")


def test_five_failures_in_ten_minutes_lock_the_consumer_out_with_retry_after(client, codes, consumer):
    generated, _ = codes()
    _, headers = consumer()
    for _ in range(5):
        assert _bind(client, "WRONGWRONGWRONG2", headers).status_code == 422
    locked = _bind(client, generated[0], headers)  # even a good code waits
    assert _error(locked) == (429, "RATE_LIMITED")
    assert 0 < int(locked.headers["Retry-After"]) <= 600
    assert _bind(client, generated[0], consumer()[1]).status_code == 201  # others are not affected


def test_successes_do_not_count_against_the_limit(client, codes, consumer):
    generated, _ = codes()
    _, headers = consumer()
    for code in generated:
        assert _bind(client, code, headers).status_code == 201
    assert _bind(client, "WRONGWRONGWRONG2", headers).status_code == 422


def test_one_address_cycling_accounts_is_limited_too(client, codes, consumer):
    from miniprogram_api.cards import BIND_FAILURES_PER_IP

    for _ in range(BIND_FAILURES_PER_IP.limit):
        assert _bind(client, "WRONGWRONGWRONG2", consumer()[1], REMOTE_ADDR="10.9.8.7").status_code == 422
    assert _error(_bind(client, "WRONGWRONGWRONG2", consumer()[1], REMOTE_ADDR="10.9.8.7")) == (429, "RATE_LIMITED")
    assert _bind(client, "WRONGWRONGWRONG2", consumer()[1], REMOTE_ADDR="10.9.8.8").status_code == 422


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 12345678}, {"code": "A" * 65}, {"code": "A", "x": 1}])
def test_malformed_bind_bodies_are_400(client, consumer, body):
    assert client.post("/api/v1/mp/cards/bind", json=body, headers=consumer()[1]).status_code == 400


def test_binding_needs_a_consumer_token(client, shop):
    assert client.post("/api/v1/mp/cards/bind", json={"code": "A"}).status_code == 401
    assert client.post("/api/v1/mp/cards/bind", json={"code": "A"}, headers=shop.headers()).status_code == 403


# --- reveal ------------------------------------------------------------------------------------------


@pytest.fixture
def owned_card(app, client, shop, consumer):
    consumer_id, headers = consumer()
    batch_id = support.batch(app, shop.merchant_id)
    card = client.post(f"/api/v1/mp/batches/{batch_id}/claim", headers=headers).get_json()
    return card["card_id"], consumer_id, headers


def test_the_owner_reveals_number_and_secret(app, client, owned_card):
    card_id, consumer_id, headers = owned_card
    response = client.post(f"/api/v1/mp/cards/{card_id}/reveal", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    revealed = response.get_json()
    with app.app_context():
        card = db.session.get(Card, card_id)
        assert revealed == {"card_no": card.card_no, "secret": decrypt(current_app.config, card.secret_encrypted)}
        assert revealed["secret"] not in card.secret_encrypted
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.reveal"))
        assert (entry.actor_type, entry.actor_id, entry.target_id) == ("consumer", consumer_id, card_id)
        assert revealed["secret"] not in str(entry.detail)


def test_another_consumers_card_is_not_found(client, owned_card, consumer):
    card_id, _, _ = owned_card
    response = client.post(f"/api/v1/mp/cards/{card_id}/reveal", headers=consumer()[1])
    assert _error(response) == (404, "NOT_FOUND")


def test_reveals_are_throttled(client, owned_card):
    card_id, _, headers = owned_card
    statuses = [client.post(f"/api/v1/mp/cards/{card_id}/reveal", headers=headers).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
