"""Shared fixtures. The suite runs on SQLite + an in-process Redis by default, and on
PostgreSQL + Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set (the Makefile runs both, and
with CI=true refuses to run without them). A configured service that is down fails the run.
TEST_PGBOUNCER=1 reaches that PostgreSQL through PgBouncer in transaction pooling mode, started here
(``make test-pgbouncer`` runs the concurrency tests so: many app servers sharing one database).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from server import create_app
from server.db import db
from server.jobs.queue import wait_for_jobs

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
TEST_PGBOUNCER = os.environ.get("TEST_PGBOUNCER") == "1"
ON_POSTGRES = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith(("postgres://", "postgresql")))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """PostgreSQL-only tests fail, never skip, when run without PostgreSQL (make test deselects them)."""
    if item.get_closest_marker("postgres") and not ON_POSTGRES:
        pytest.fail("this test needs PostgreSQL and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL")


def _base_config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One database for the whole run; each app built from this config shares it."""
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return {
        "APP_ENV": "test",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        # Jobs run in each app's embedded thread (tests/jobs/ start RQ workers of their own), and
        # periodic jobs only when a test runs them.
        "JOBS_BACKEND": "embedded",
        "JOBS_SCHEDULE": False,
        # Tests set prepaid products up published directly; tests/api/test_mode/ turn the go-live rule on.
        "TEST_RUN_REQUIRED": False,
    }


@pytest.fixture(scope="session")
def app_config(tmp_path_factory: pytest.TempPathFactory):
    config = _base_config(tmp_path_factory)
    if not TEST_PGBOUNCER:
        yield config
        return
    if not ON_POSTGRES:
        pytest.fail("TEST_PGBOUNCER=1 needs TEST_DATABASE_URL (PostgreSQL)")
    from bench.support import pgbouncer, via_port

    # PgBouncer 1.18 cannot keep prepared statements in transaction mode: the app turns them off.
    with pgbouncer(server_url=TEST_DATABASE_URL) as (port, _):
        yield {**config, "DATABASE_URL": via_port(TEST_DATABASE_URL, port), "DATABASE_PREPARED_STATEMENTS": False}


@pytest.fixture(scope="session")
def app(app_config: dict):
    app = create_app(app_config)
    with app.app_context():
        _check_services(app)
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
    return app


def _check_services(app) -> None:
    from server.extensions import get_redis

    try:
        db.session.execute(text("SELECT 1"))
        get_redis().ping()
    except Exception as exc:  # a configured service that is down must fail the run loudly
        raise pytest.UsageError(f"test database or Redis unreachable: {exc}") from exc


def _drop_alembic_version() -> None:
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest):
    """Every test starts with empty tables and an empty Redis."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    # A job queued by the test (a subscribe message, a webhook) may still be running on its own connection.
    assert wait_for_jobs(app), "the embedded job thread is still busy after 10 s"
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(t.name for t in db.metadata.sorted_tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
        from server.extensions import get_redis

        get_redis().flushdb()


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def session(ctx):
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def probe_app(app_config: dict, app):
    """The app plus the probe blueprint (tests/probe.py), on the same database."""
    from tests.probe import blueprint

    probe = create_app({**app_config, "REDIS_CLIENT": app.extensions["kabao_redis"]})
    probe.extensions["kabao_api"].register_blueprint(blueprint)
    return probe


@pytest.fixture
def probe_client(probe_app):
    return probe_app.test_client()


@pytest.fixture
def issue_token(app):
    """Issue a bearer token for a principal straight into the app's Redis."""
    from server.auth import Principal
    from server.auth import issue_token as issue
    from server.extensions import get_redis

    def _issue(target_app=None, **principal) -> dict[str, str]:
        with (target_app or app).app_context():
            token = issue(get_redis(), Principal(**principal), 600)
        return {"Authorization": f"Bearer {token}"}

    return _issue


@pytest.fixture
def shop(app):
    """An approved chain merchant with two stores and staff of every role; ``shop.headers(role)``."""
    from tests import factories

    class Shop:
        def __init__(self) -> None:
            with app.app_context():
                merchant = factories.merchant(db.session)
                self.merchant_id = merchant.id
                self.store_id = factories.store(db.session, merchant, name="一号店", region_code="310101").id
                self.other_store_id = factories.store(db.session, merchant, name="二号店", region_code="540102").id
                self.staff_ids = {
                    role: factories.staff(db.session, merchant, role,
                                          store_id=self.store_id if role == "cashier" else None).id
                    for role in ("owner", "manager", "cashier", "finance", "operations")
                }
                db.session.commit()

        def headers(self, role: str = "owner", **overrides) -> dict[str, str]:
            from server.auth import Principal, PrincipalKind, issue_token
            from server.extensions import get_redis

            fields = {"merchant_id": self.merchant_id, "role": role,
                      "store_id": self.store_id if role == "cashier" else None, **overrides}
            with app.app_context():
                token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, self.staff_ids.get(role, 0), **fields),
                                    600)
            return {"Authorization": f"Bearer {token}"}

    return Shop()


def admin_headers(app) -> dict[str, str]:
    """A platform admin row and its bearer token."""
    from server.auth import Principal, PrincipalKind, hash_password, issue_token
    from server.extensions import get_redis
    from server.platform.models import PlatformAdmin

    with app.app_context():
        admin = PlatformAdmin(username=f"admin{os.urandom(3).hex()}", password_hash=hash_password("admin-pass"))
        db.session.add(admin)
        db.session.commit()
        token = issue_token(get_redis(), Principal(PrincipalKind.ADMIN, admin.id), 600)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def counter(app, shop):
    """Cards of every kind at ``shop`` and helpers to show their codes and redeem (tests/counter.py)."""
    from tests.counter import Counter

    return Counter(app, shop)
