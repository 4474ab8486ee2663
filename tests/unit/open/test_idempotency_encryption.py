"""``@idempotent(encrypt_response=True)`` keeps the stored response encrypted and replays it decrypted."""

from flask import jsonify
from sqlalchemy import select

from server.auth import Principal, PrincipalKind
from server.db import db
from server.idempotency import IdempotencyRecord, idempotent


def test_an_encrypted_response_is_stored_encrypted_and_replayed_in_plaintext(app):
    calls = []

    @idempotent(encrypt_response=True)
    def view():
        calls.append(1)
        return jsonify(secret="BIND-CODE-PLAINTEXT"), 201

    def call():
        with app.test_request_context("/x", method="POST", json={"a": 1}, headers={"Idempotency-Key": "k-1"}):
            from flask import g

            g.principal = Principal(PrincipalKind.API_KEY, 7, merchant_id=None)
            response = app.make_response(view())
            db.session.commit()
            return response

    first, again = call(), call()
    assert calls == [1]
    assert first.status_code == again.status_code == 201
    assert again.get_json() == {"secret": "BIND-CODE-PLAINTEXT"}
    assert again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        stored = db.session.scalar(select(IdempotencyRecord.response_body))
        kind = db.session.scalar(select(IdempotencyRecord.principal_kind))
    assert "BIND-CODE-PLAINTEXT" not in stored and stored.startswith("gAAAA")
    assert kind == "api_key"
