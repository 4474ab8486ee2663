"""Configuration from the environment (the variables of docs/api.md), overridable per app instance."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

#: Development-only secret; refused when APP_ENV=production.
_DEV_SECRET = "kabao-dev-secret-change-me"


def database_uri(url: str | None) -> str:
    """Map ``postgresql://`` onto the psycopg 3 driver; default to a SQLite file under instance/."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'kabao.sqlite3'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read every setting from the environment, then apply ``overrides`` (tests, tools)."""
    env = os.environ
    config: dict[str, Any] = {
        "APP_ENV": env.get("APP_ENV", "development"),
        "SECRET_KEY": env.get("SECRET_KEY", _DEV_SECRET),
        "DATABASE_URL": env.get("DATABASE_URL"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "WECHAT_SIMULATOR": _flag(env.get("WECHAT_SIMULATOR")),
        "WECHAT_APPID": env.get("WECHAT_APPID", "wxkabaodemo0000001"),
        "WECHAT_SECRET": env.get("WECHAT_SECRET", "kabao-demo-app-secret"),
        "WECHAT_MCH_ID": env.get("WECHAT_MCH_ID", "1900000001"),
        "WECHAT_PAY_KEY": env.get("WECHAT_PAY_KEY", "kabaodemopaykey0000000000000000k"),
        "WECHAT_API_BASE_URL": env.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com/"),
        "WECHAT_PAY_BASE_URL": env.get("WECHAT_PAY_BASE_URL", "https://api.mch.weixin.qq.com/"),
        "WECHAT_PAY_CERT_PATH": env.get("WECHAT_PAY_CERT_PATH"),
        "WECHAT_PAY_KEY_PATH": env.get("WECHAT_PAY_KEY_PATH"),
        "WECHAT_HTTP_TIMEOUT": float(env.get("WECHAT_HTTP_TIMEOUT", "10")),
        #: WeChat Pay API v2 or v3, and direct or partner (服务商) mode (README "WeChat").
        "WECHAT_PAY_VERSION": env.get("WECHAT_PAY_VERSION", "v2").strip().lower(),
        "WECHAT_PAY_MODE": env.get("WECHAT_PAY_MODE", "direct").strip().lower(),
        "WECHAT_PAY_APIV3_KEY": env.get("WECHAT_PAY_APIV3_KEY"),
        "WECHAT_PAY_MCH_PRIVATE_KEY_PATH": env.get("WECHAT_PAY_MCH_PRIVATE_KEY_PATH"),
        "WECHAT_PAY_MCH_CERT_SERIAL_NO": env.get("WECHAT_PAY_MCH_CERT_SERIAL_NO"),
        "WECHAT_PAY_PUBLIC_KEY_PATH": env.get("WECHAT_PAY_PUBLIC_KEY_PATH"),
        "WECHAT_PAY_PUBLIC_KEY_ID": env.get("WECHAT_PAY_PUBLIC_KEY_ID"),
        #: v3 without a public key: where downloaded platform certificates are cached (optional).
        "WECHAT_PAY_PLATFORM_CERT_DIR": env.get("WECHAT_PAY_PLATFORM_CERT_DIR"),
        # The Official Account with card permission (WeChat card wallet sync; off unless both set).
        "WECHAT_OA_APPID": env.get("WECHAT_OA_APPID"),
        "WECHAT_OA_SECRET": env.get("WECHAT_OA_SECRET"),
        #: Subscribe-message template ids (empty: the message is recorded as failed, never sent).
        "WECHAT_TEMPLATE_REDEMPTION": env.get("WECHAT_TEMPLATE_REDEMPTION", ""),
        "WECHAT_TEMPLATE_TOP_UP": env.get("WECHAT_TEMPLATE_TOP_UP", ""),
        #: Which keyword of each subscribe template shows which field of the message.
        "WECHAT_TEMPLATE_REDEMPTION_FIELDS": env.get("WECHAT_TEMPLATE_REDEMPTION_FIELDS",
                                                     "store=thing1,amount=amount2,balance=amount3,time=time4"),
        "WECHAT_TEMPLATE_TOP_UP_FIELDS": env.get("WECHAT_TEMPLATE_TOP_UP_FIELDS",
                                                 "card=thing1,amount=amount2,bonus=amount3,balance=amount4,time=time5"),
        #: Queue the subscribe-message job right after each commit that queued a message; off leaves
        #: them to the job's periodic run or `flask --app wsgi send-notifications`.
        "NOTIFICATIONS_AFTER_COMMIT": _flag(env.get("NOTIFICATIONS_AFTER_COMMIT", "1")),
        #: Lifetime of bearer tokens of every principal kind.
        "TOKEN_TTL_SECONDS": int(env.get("TOKEN_TTL_SECONDS", str(7 * 24 * 3600))),
        #: Idempotency records are kept at least this long (docs/api.md: ≥ 24 hours).
        "IDEMPOTENCY_RETENTION_HOURS": int(env.get("IDEMPOTENCY_RETENTION_HOURS", "48")),
        #: Fernet key for card secrets and WeChat session keys; derived from SECRET_KEY when unset.
        "DATA_ENCRYPTION_KEY": env.get("DATA_ENCRYPTION_KEY"),
        #: A prepaid product is published only after a passing test run (API.md "Test mode"); 0 relaxes it.
        "TEST_RUN_REQUIRED": _flag(env.get("TEST_RUN_REQUIRED", "1")),
        #: How long after a redemption a manager may still reverse it.
        "REVERSAL_WINDOW_HOURS": int(env.get("REVERSAL_WINDOW_HOURS", "48")),
        #: Where uploaded qualification images are kept (default: instance/uploads).
        "UPLOAD_DIR": env.get("UPLOAD_DIR"),
        #: HMAC key for redemption codes; derived from SECRET_KEY when unset.
        "CODE_HASH_KEY": env.get("CODE_HASH_KEY"),
        #: Background jobs: "rq" (REDIS_URL, run by `flask --app wsgi worker`) or "embedded" (a thread of
        #: this process); default rq when REDIS_URL is set, else embedded.
        "JOBS_BACKEND": env.get("JOBS_BACKEND") or None,
        #: Embedded backend: run the periodic jobs (reconciliation, expiry, purge, sweeps) in the server.
        "JOBS_SCHEDULE": _flag(env.get("JOBS_SCHEDULE", "1")),
        #: Queue the webhook dispatcher right after each commit that recorded an event (else the sweep does).
        "WEBHOOKS_AFTER_COMMIT": _flag(env.get("WEBHOOKS_AFTER_COMMIT", "1")),
        #: Queue the card-wallet dispatcher right after a commit that made a sync due.
        "CARD_WALLET_AFTER_COMMIT": _flag(env.get("CARD_WALLET_AFTER_COMMIT", "1")),
        #: Hosts, addresses or networks (comma-separated) webhooks may reach although private or loopback.
        "WEBHOOK_ALLOWED_HOSTS": env.get("WEBHOOK_ALLOWED_HOSTS", ""),
        #: Refuse private, loopback and link-local webhook addresses outside production too.
        "WEBHOOK_BLOCK_PRIVATE": _flag(env.get("WEBHOOK_BLOCK_PRIVATE")),
        #: Largest request body (multipart uploads); other bodies stop at 1 MB (server/http_safety.py).
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH") or 8 * 1024 * 1024),
        #: psycopg prepares a statement the fifth time a connection runs it; off ("0") behind a pooler
        #: that cannot keep prepared statements, such as PgBouncer before 1.21 in transaction mode.
        "DATABASE_PREPARED_STATEMENTS": _flag(env.get("DATABASE_PREPARED_STATEMENTS", "1")),
        #: A pooled PostgreSQL connection idle this long is pinged before use (server/db.py ping_when_idle).
        "DATABASE_PING_AFTER_IDLE_SECONDS": float(env.get("DATABASE_PING_AFTER_IDLE_SECONDS") or 1),
    }
    config.update(overrides or {})
    config["SQLALCHEMY_DATABASE_URI"] = database_uri(config.get("DATABASE_URL"))
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                      _engine_options(config["SQLALCHEMY_DATABASE_URI"], config["APP_ENV"] == "production",
                                      prepared=config["DATABASE_PREPARED_STATEMENTS"]))
    if not config.get("MAX_CONTENT_LENGTH"):  # no configuration runs without a body limit
        config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    _check_production(config)
    check_wechat_pay(config)
    return config


def check_wechat_pay(config: Mapping[str, Any]) -> None:
    """Refuse to start with an unknown Pay version or mode, or a half-configured v3.

    With ``WECHAT_SIMULATOR`` the simulator fills in whatever v3 setting is left empty when it is
    mounted (and checks the rest), so only contradictions are refused then.
    """
    version, mode = config.get("WECHAT_PAY_VERSION") or "v2", config.get("WECHAT_PAY_MODE") or "direct"
    if version not in ("v2", "v3"):
        raise RuntimeError(f"WECHAT_PAY_VERSION must be v2 or v3, not {version!r}")
    if mode not in ("direct", "partner"):
        raise RuntimeError(f"WECHAT_PAY_MODE must be direct or partner, not {mode!r}")
    if version != "v3":
        return
    if bool(config.get("WECHAT_PAY_PUBLIC_KEY_PATH")) != bool(config.get("WECHAT_PAY_PUBLIC_KEY_ID")):
        raise RuntimeError("WECHAT_PAY_PUBLIC_KEY_PATH and WECHAT_PAY_PUBLIC_KEY_ID must be set together")
    key = config.get("WECHAT_PAY_APIV3_KEY")
    if key and len(str(key).encode("utf-8")) != 32:
        raise RuntimeError("WECHAT_PAY_APIV3_KEY must be 32 bytes")
    if config.get("WECHAT_SIMULATOR"):
        return
    missing = [name for name in ("WECHAT_PAY_APIV3_KEY", "WECHAT_PAY_MCH_PRIVATE_KEY_PATH",
                                 "WECHAT_PAY_MCH_CERT_SERIAL_NO") if not config.get(name)]
    if missing:
        raise RuntimeError("WECHAT_PAY_VERSION=v3 needs " + ", ".join(missing))
    for name in ("WECHAT_PAY_MCH_PRIVATE_KEY_PATH", "WECHAT_PAY_PUBLIC_KEY_PATH"):
        if config.get(name) and not Path(str(config[name])).is_file():
            raise RuntimeError(f"{name} does not point to a file: {config[name]}")


def _engine_options(uri: str, production: bool = False, prepared: bool = True) -> dict[str, Any]:
    #: In production, bound SQL parameters (card secrets, phone numbers) never reach an error log.
    hidden = {"hide_parameters": True} if production else {}
    if uri.startswith("sqlite"):
        # Writers wait for each other instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30}, **hidden}
    # A database that is down answers 503 within seconds: connecting never hangs.
    connect_args: dict[str, Any] = {"connect_timeout": 3}
    if not prepared:
        connect_args["prepare_threshold"] = None
    return {"pool_size": 10, "max_overflow": 20, "pool_timeout": 5,
            "connect_args": connect_args, **hidden}


def _check_production(config: Mapping[str, Any]) -> None:
    """Refuse settings that are only safe on a developer's machine."""
    if config["APP_ENV"] != "production":
        return
    if config["SECRET_KEY"] == _DEV_SECRET:
        raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
    if config["WECHAT_SIMULATOR"]:
        raise RuntimeError("WECHAT_SIMULATOR=1 is refused when APP_ENV=production")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        raise RuntimeError("APP_ENV=production needs DATABASE_URL pointing at PostgreSQL")
