"""Operator commands: verify-ledger, create-admin, demo."""

from sqlalchemy import select, text

from server.db import db
from server.platform.models import PlatformAdmin
from tests import factories


def test_verify_ledger_passes_on_clean_books_and_fails_listing_drift(app):
    runner = app.test_cli_runner()
    with app.app_context():
        card = factories.card(db.session, factories.product(db.session, factories.merchant(db.session)),
                              principal_fen=5000)
        db.session.commit()
        card_id = card.id
    clean = runner.invoke(args=["verify-ledger"])
    assert clean.exit_code == 0, clean.output
    assert "ledger ok" in clean.output

    with app.app_context():
        db.session.execute(text("UPDATE cards SET bonus_fen = 7 WHERE id = :id"), {"id": card_id})
        db.session.commit()
    drifted = runner.invoke(args=["verify-ledger"])
    assert drifted.exit_code == 1
    assert f"DRIFT live card_balance {card_id}: bonus_fen: cached 7 ≠ ledger 0" in drifted.output
    assert "test ledger ok" in drifted.output


def test_create_admin_hashes_the_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "ops", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(select(PlatformAdmin).where(PlatformAdmin.username == "ops"))
        assert admin.password_hash.startswith("$argon2")
        assert "a-long-password" not in admin.password_hash


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "ops", "--password", "short"])
    assert result.exit_code != 0


def test_demo_loads_twice_without_duplicates(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == second.exit_code == 0, first.output
    assert "demo_cashier" in first.output
    # the logins come last, so make run shows them where a person looks
    tail = first.output.strip().splitlines()[-7:]
    assert tail[0] == "Demo logins:" and "demo_cashier / kabao-demo-123" in tail[-1]
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM merchants")) == 1


def test_the_demo_logins_wait_for_the_server_and_print_last(app):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = app.test_cli_runner().invoke(args=["demo", "--logins-when-up",
                                                    f"http://127.0.0.1:{server.server_port}/"])
    finally:
        server.shutdown()
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and lines[0] == "Demo logins:" and len(lines) == 7
    assert f"http://127.0.0.1:{server.server_port}/console/login" in lines[-1]
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM merchants")) == 0  # nothing loaded
