"""Alembic migrations build the whole schema on an empty database, and match the models."""

import re
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import CheckConstraint, create_engine, text

from server import create_app
from server.config import database_uri
from server.db import db
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database of the backend under test."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"kabao_migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_uri(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = TEST_DATABASE_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_builds_a_schema_identical_to_the_models(empty_database_url, app_config):
    fresh = create_app({**app_config, "DATABASE_URL": empty_database_url})
    with fresh.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(db.inspect(connection).get_table_names())
        db.engine.dispose()
    assert diff == [], f"models changed without a migration: {diff}"
    assert {"cards", "journals", "ledger_entries", "idempotency_records", "payment_orders"} <= tables


def _value_checks_in(connection) -> dict[str, set[str]]:
    """Every CHECK constraint of the migrated database that names quoted values: name → values."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                       "WHERE contype = 'c'"))
    else:
        tables = connection.execute(text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        sql = " ".join(row[0] for row in tables)
        rows = re.findall(r"CONSTRAINT (\w+) CHECK \((.*?)\)(?:,|\s*\))", sql)
    return {name: set(re.findall(r"'([^']*)'", definition)) for name, definition in rows}


def test_upgrade_leaves_every_status_and_kind_check_as_the_models_declare(empty_database_url, app_config):
    """Autogenerate cannot compare CHECK constraints: an enum value added to a model without its
    migration would only fail when a row first uses it."""
    fresh = create_app({**app_config, "DATABASE_URL": empty_database_url})
    with fresh.app_context():
        upgrade()
        with db.engine.connect() as connection:
            found = _value_checks_in(connection)
        db.engine.dispose()
        declared = {
            constraint.name: set(re.findall(r"'([^']*)'", str(constraint.sqltext)))
            for table in db.metadata.tables.values() for constraint in table.constraints
            if isinstance(constraint, CheckConstraint) and "'" in str(constraint.sqltext)
        }
    assert declared, "the models declare value checks"
    assert {name: found.get(name) for name in declared} == declared
