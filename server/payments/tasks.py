"""Payment jobs: reconciliation. A job is a boundary like a request: it commits, services only flush.

Each order and each refund is its own unit of work, committed on its own, so one failure (logged
and reported) does not hold back the others and no row stays locked while WeChat is being asked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from server.db import utcnow
from server.payments.services import ReconcileOutcome, orders_to_reconcile, reconcile_order
from server.payments.wechat_refunds import (
    accepted_refunds_to_settle,
    resubmit_pending_refunds,
    settle_accepted_refund,
)
from server.wechat import PaymentGateway

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    #: Order numbers by what reconciliation did with them.
    orders: dict[ReconcileOutcome, list[str]] = field(default_factory=lambda: {o: [] for o in ReconcileOutcome})
    #: Refund allocations WeChat was asked about again.
    refunds_resubmitted: int = 0
    #: Refund allocations settled from refundquery because their notify never came (out_refund_no).
    refunds_settled: list[str] = field(default_factory=list)
    #: Refund allocations whose settling from refundquery failed (out_refund_no; see the log).
    refund_errors: list[str] = field(default_factory=list)


def reconcile_payments(
    session: Session, gateway: PaymentGateway, config: Mapping[str, Any], *, older_than_minutes: int
) -> ReconcileReport:
    """Ask WeChat about every order still pending after ``older_than_minutes``.

    Expired unpaid orders are closed at WeChat and here. Refund requests WeChat has not accepted
    yet are sent again (same out_refund_no: never twice); accepted ones whose notify never came are
    settled from refundquery.
    """
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    report = ReconcileReport()
    numbers = orders_to_reconcile(session, created_before=cutoff)
    session.rollback()
    for out_trade_no in numbers:
        try:
            outcome = reconcile_order(session, gateway, config, out_trade_no)
            session.commit()
        except Exception:
            session.rollback()
            logger.exception("reconciling order %s failed", out_trade_no)
            outcome = ReconcileOutcome.ERROR
        report.orders[outcome].append(out_trade_no)
    report.refunds_resubmitted = resubmit_pending_refunds(session, gateway, created_before=cutoff)
    session.commit()
    refunds = accepted_refunds_to_settle(session, created_before=cutoff)
    session.rollback()
    for out_refund_no, sub_mchid in refunds:
        try:
            if settle_accepted_refund(session, gateway, out_refund_no, sub_mchid):
                report.refunds_settled.append(out_refund_no)
                logger.info("refund %s settled via reconcile", out_refund_no)
            session.commit()
        except Exception:
            session.rollback()
            logger.exception("reconciling refund %s failed", out_refund_no)
            report.refund_errors.append(out_refund_no)
    return report
