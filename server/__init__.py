"""Kabao: virtual member cards for WeChat mini-programs."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flask_smorest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from server.config import INSTANCE_DIR, load_config
from server.db import db as database
from server.db import ping_when_idle
from server.extensions import migrate, redis_connection

ROOT = Path(__file__).resolve().parent.parent


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys, and let readers run beside a writer (WAL)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _import_models() -> None:
    """Import every model module so the metadata (and Alembic) sees the whole schema."""
    import server.audit.models
    import server.cards.models
    import server.cardwallet.models
    import server.consumers.models
    import server.idempotency
    import server.issuance.models
    import server.ledger.models
    import server.merchants.models
    import server.notifications.models
    import server.open.models
    import server.payments.models
    import server.platform.models
    import server.products.models
    import server.redemption.models
    import server.reports.models
    import server.rewards.models
    import server.webhooks.models  # noqa: F401


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides settings read from the environment."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(config))
    app.config.update(
        API_TITLE="Kabao API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    from server import http_safety

    http_safety.init_app(app)  # body limits, JSON depth, URL segment bounds, request ids, masked logs
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    _import_models()
    database.init_app(app)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            ping_when_idle(database.engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, database, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    redis_connection.init_app(app)
    from server.jobs.queue import init_jobs

    init_jobs(app)  # background jobs: RQ on REDIS_URL, or a thread of this process
    from server.openapi import Api, init_document

    api = Api(app)
    app.extensions["kabao_api"] = api
    init_document(api)  # security schemes, the error envelope, JSON-Schema-valid patterns

    from server.api.docs import blueprint as docs_blueprint
    from server.api.faces import blueprint as faces_blueprint
    from server.api.health import blueprint as health_blueprint

    app.register_blueprint(faces_blueprint)
    app.register_blueprint(docs_blueprint)  # Swagger UI at /api/v1/docs (assets served here) and the guide
    api.register_blueprint(health_blueprint)  # GET /healthz, documented (no auth)
    for blueprint in _api_blueprints():
        api.register_blueprint(blueprint)

    from server.console import init_console

    init_console(app)  # merchant (/console) and platform (/platform) web console, with CSRF

    from server.web import register_error_handlers, register_transaction_boundary

    register_error_handlers(app)  # after Api(app), so ours replace flask-smorest's handlers
    register_transaction_boundary(app)

    from server import cli

    cli.register(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))  # type: ignore[method-assign]
    return app


def _api_blueprints() -> list[flask_smorest.Blueprint]:
    """The JSON API, one blueprint per domain (merchant, platform and mini-program views)."""
    from miniprogram_api.auth import blueprint as mp_auth_api
    from miniprogram_api.batches import blueprint as mp_batches_api
    from miniprogram_api.cards import blueprint as mp_cards_api
    from miniprogram_api.purchases import blueprint as mp_purchases_api
    from miniprogram_api.wallet import blueprint as mp_wallet_api
    from server.api.issuance import blueprint as issuance_api
    from server.api.merchants import blueprint as merchant_api
    from server.api.open import api_keys as open_api_keys_api
    from server.api.open import blueprint as open_api
    from server.api.payments import callbacks as wechat_callbacks_api
    from server.api.payments import orders as mp_orders_api
    from server.api.physical_cards import blueprint as physical_cards_api
    from server.api.platform import blueprint as platform_api
    from server.api.products import blueprint as products_api
    from server.api.redemption import blueprint as redemption_api
    from server.api.reports import blueprint as reports_api
    from server.api.test_mode import blueprint as test_mode_api
    from server.api.webhooks import blueprint as webhooks_api

    return [merchant_api, platform_api, products_api, issuance_api, mp_batches_api, mp_cards_api,
            redemption_api, reports_api, mp_auth_api, mp_purchases_api, mp_orders_api, wechat_callbacks_api,
            mp_wallet_api, open_api_keys_api, open_api, webhooks_api,
            physical_cards_api, test_mode_api]

