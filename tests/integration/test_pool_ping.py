"""server/db.py ping_when_idle: a pooled connection the database dropped while it sat idle is replaced
before a request uses it; one in steady use costs no ping."""

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from server import create_app
from server.config import database_uri
from server.db import db

pytestmark = pytest.mark.postgres


def _backend_pid(app) -> int:
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()  # back into the pool
    return pid


def _terminate(app_config, pid: int) -> None:
    """What a database restart or a firewall's idle timeout does to a pooled connection."""
    engine = create_engine(database_uri(app_config["DATABASE_URL"]))
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()


def _app(app_config, idle_seconds: float):
    return create_app({**app_config, "DATABASE_PING_AFTER_IDLE_SECONDS": idle_seconds,
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})


def test_a_connection_dropped_while_idle_is_replaced_before_use(app_config):
    app = _app(app_config, idle_seconds=0.05)
    dropped = _backend_pid(app)
    _terminate(app_config, dropped)
    time.sleep(0.1)
    assert _backend_pid(app) != dropped  # the request ran on a new connection, without an error


def test_a_connection_in_steady_use_is_not_pinged(app_config):
    """No round trip goes ahead of its statements: a connection the database dropped a moment after
    its last use is met by the request itself (a 503 at the boundary), then the pool is renewed."""
    app = _app(app_config, idle_seconds=60)
    dropped = _backend_pid(app)
    _terminate(app_config, dropped)
    with app.app_context():
        with pytest.raises(OperationalError):
            db.session.scalar(text("SELECT 1"))
        db.session.rollback()  # as the request boundary does
    assert _backend_pid(app) != dropped
