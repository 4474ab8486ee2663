"""Operator commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from server.db import db
from server.modes import Mode, use_mode


def _wait_until_up(base_url: str, timeout_seconds: float = 60) -> None:
    """Poll ``base_url``/healthz until it answers (any status), or give up after ``timeout_seconds``."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=2).close()  # noqa: S310 - our own server
            return
        except urllib.error.HTTPError:
            return  # it answers: up, if unhealthy
        except OSError:
            time.sleep(0.3)


def register(app: Flask) -> None:
    from server.jobs import worker
    from server.payments import cli as payments_cli

    payments_cli.register(app)
    worker.register(app)

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin(username: str, password: str) -> None:
        """Create a platform admin (or reset their password)."""
        from server.auth import hash_password
        from server.platform.models import PlatformAdmin

        if len(password) < 8:
            raise click.BadParameter("password must be at least 8 characters", param_hint="--password")
        admin = db.session.scalar(select(PlatformAdmin).where(PlatformAdmin.username == username))
        if admin is None:
            admin = PlatformAdmin(username=username, password_hash=hash_password(password))
            db.session.add(admin)
            verb = "created"
        else:
            admin.password_hash = hash_password(password)
            verb = "password reset for"
        db.session.commit()
        click.echo(f"platform admin {verb}: {username}")

    @app.cli.command("verify-ledger")
    @click.option("--mode", "modes", type=click.Choice([m.value for m in Mode]), multiple=True,
                  help="Books to check (default: live, then test).")
    def verify_ledger_command(modes: tuple[str, ...]) -> None:
        """Recompute every card's balances from the ledger, per mode; exit 1 listing any drift."""
        from server.ledger.services import verify_ledger

        problems = 0
        for mode in modes or [m.value for m in Mode]:
            use_mode(db.session, mode)
            drifts = verify_ledger(db.session)
            problems += len(drifts)
            if not drifts:
                click.echo(f"{mode} ledger ok: every journal balances and every card matches its entries")
            for drift in drifts:
                click.echo(f"DRIFT {mode} {drift.kind} {drift.ref_id}: {drift.detail}", err=True)
        if problems:
            click.echo(f"{problems} problem(s) found", err=True)
            sys.exit(1)

    @app.cli.command("purge-idempotency")
    def purge_idempotency() -> None:
        """Delete idempotency records past their retention (the worker runs it daily)."""
        from server.jobs.tasks import purge_idempotency as purge

        removed = purge()
        click.echo(f"removed {removed} idempotency record(s)")

    @app.cli.command("expire-cards")
    def expire_cards_command() -> None:
        """Expire cards past their validity (the worker runs it daily). Prepaid balances stay reactivatable."""
        from server.jobs.tasks import expire_cards

        for mode, report in expire_cards().items():
            click.echo(f"{mode}: expired {report.cards_expired} card(s); {report.points_lapsed} point(s) lapsed")

    @app.cli.command("demo")
    @click.option("--logins-when-up", metavar="URL", default=None,
                  help="Load nothing: wait until the server at URL answers /healthz, then print the logins "
                       "(make run prints them last, after the server's banner).")
    def demo(logins_when_up: str | None) -> None:
        """Load the demo data (safe to run again) and print the logins, last."""
        from server.demo import demo_logins, load_demo
        from server.extensions import get_redis
        from server.storage import document_storage
        from server.wechat.adapters import get_payment_gateway

        if logins_when_up is not None:
            _wait_until_up(logins_when_up.rstrip("/"))
            click.echo("\n".join(demo_logins(logins_when_up.rstrip("/"))))
            return
        for line in load_demo(db.session, current_app.config, get_redis(), get_payment_gateway(), document_storage()):
            click.echo(line)
        db.session.commit()
