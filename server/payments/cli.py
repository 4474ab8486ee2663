"""Payment and notification jobs: ``flask --app wsgi reconcile-payments`` and ``send-notifications``."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask, current_app

from server.db import db
from server.notifications.services import deliver_pending
from server.payments.services import ReconcileOutcome
from server.payments.tasks import reconcile_payments
from server.wechat.adapters import get_payment_gateway, get_wechat_client


def register(app: Flask) -> None:
    @app.cli.command("reconcile-payments")
    @click.option("--older-than", "older_than", type=click.IntRange(min=0), default=10, show_default=True,
                  metavar="MINUTES", help="Only orders created at least this many minutes ago.")
    def reconcile_payments_command(older_than: int) -> None:
        """Settle paid orders and refunds whose notify never arrived, close expired unpaid orders and
        send refunds WeChat has not accepted again (run every few minutes)."""
        report = reconcile_payments(db.session, get_payment_gateway(), current_app.config,
                                    older_than_minutes=older_than)
        counts = {outcome: len(numbers) for outcome, numbers in report.orders.items()}
        click.echo(
            f"settled {counts[ReconcileOutcome.SETTLED]}, closed {counts[ReconcileOutcome.CLOSED]}, "
            f"still pending {counts[ReconcileOutcome.PENDING]}, errors {counts[ReconcileOutcome.ERROR]}, "
            f"refunds sent again {report.refunds_resubmitted}, refunds settled {len(report.refunds_settled)}, "
            f"refund errors {len(report.refund_errors)}"
        )
        for number in (*report.orders[ReconcileOutcome.ERROR], *report.refund_errors):
            click.echo(f"ERROR {number} (see the log)", err=True)
        if counts[ReconcileOutcome.ERROR] or report.refund_errors:
            sys.exit(1)

    @app.cli.command("send-notifications")
    @click.option("--loop", is_flag=True, help="Keep sending until interrupted.")
    @click.option("--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
                  help="Seconds between passes with --loop.")
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
                  help="Messages per pass.")
    def send_notifications_command(loop: bool, interval: float, limit: int) -> None:
        """Send queued WeChat subscribe messages once (the pass the notifications.send job runs)."""
        while True:
            report = deliver_pending(db.session, get_wechat_client(), current_app.config, limit)
            db.session.commit()
            if report.handled or not loop:
                click.echo(f"sent {report.sent}, failed {report.failed}, will retry {report.retrying}")
            if not loop:
                return
            if report.handled < limit:
                time.sleep(interval)
