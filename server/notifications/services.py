"""Subscribe messages through an outbox: queued inside the business transaction, sent after commit.

A WeChat error can therefore never undo the business action — the credit or redemption is already
committed when sending starts. The ``notifications.send`` job (server/jobs/) drains the outbox: it is
queued right after any commit that queued a message (``MESSAGES_QUEUED``), and runs every minute for
what a crash or a transient WeChat error left pending; ``flask --app wsgi send-notifications`` runs
the same pass once (or ``--loop``).

Across workers, PostgreSQL's ``FOR UPDATE SKIP LOCKED`` hands each message to one sender (SQLite,
the one-process embedded default, has no row locks; its one job thread sends one pass at a time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.consumers.models import Consumer
from server.db import utcnow
from server.direct_writes import insert_row
from server.modes import Mode, session_mode
from server.money import yuan
from server.notifications.models import OutboxMessage, OutboxStatus
from server.timeutil import SHANGHAI
from server.wechat import SubscribeMessageError, send_subscribe_message
from server.wechat.client import KabaoWeChatClient

logger = logging.getLogger(__name__)


class TemplateKey(StrEnum):
    REDEMPTION = "redemption"
    TOP_UP = "top_up"


#: Config keys of each message kind: its WeChat template id, and which of the template's fields
#: shows each field of the message ("store=thing1,amount=amount2,…"), since every mini-program's
#: template numbers its keywords itself. Messages carry their fields by these names.
TEMPLATE_CONFIG_KEYS = {
    TemplateKey.REDEMPTION: ("WECHAT_TEMPLATE_REDEMPTION", "WECHAT_TEMPLATE_REDEMPTION_FIELDS"),
    TemplateKey.TOP_UP: ("WECHAT_TEMPLATE_TOP_UP", "WECHAT_TEMPLATE_TOP_UP_FIELDS"),
}
#: Transient failures are retried this many times in all.
MAX_ATTEMPTS = 5
#: Errors a retry cannot fix: 43101 the user has no subscription left (or refused), 47003 bad data,
#: 40003 bad openid, 40037 bad template id, 41030 page not released.
PERMANENT_ERRCODES = frozenset({40003, 40037, 41030, 43101, 47003})
#: Messages one job pass sends at most.
JOB_BATCH = 50
#: WeChat's limit on a ``thing`` field.
THING_MAX_CHARS = 20

#: session.info flag: this transaction queued a message (the send job is queued after its commit).
MESSAGES_QUEUED = "kabao_outbox_queued"


def queue_message(
    session: Session, *, merchant_id: int, consumer_id: int, template_key: TemplateKey, payload: Mapping[str, Any]
) -> OutboxMessage | None:
    """Add a message to the caller's transaction; it is sent only if that transaction commits.

    The row goes out with the transaction's COMMIT (server/direct_writes.py: a redemption or top-up
    pays no round trip for it); the message returned carries no id. Nothing of test mode reaches
    WeChat, so a test card's holder is sent nothing (None)."""
    if session_mode(session) == Mode.TEST:
        return None
    message = insert_row(session, OutboxMessage(
        merchant_id=merchant_id, consumer_id=consumer_id, template_key=template_key, payload=dict(payload)
    ), defer=True)
    session.info[MESSAGES_QUEUED] = True
    return message


def amount_text(fen: int) -> str:
    """WeChat's ``amount`` field format: ¥300.00."""
    return f"¥{yuan(fen)}"


def time_text(moment: datetime) -> str:
    """WeChat's ``time`` field format, in Shanghai time: 2026年11月23日 10:00."""
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def thing_text(text: str) -> str:
    return text[:THING_MAX_CHARS]


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.retrying


def deliver_pending(
    session: Session, client: KabaoWeChatClient, config: Mapping[str, Any], limit: int = 50
) -> DeliveryReport:
    """Send up to ``limit`` pending messages (fewest attempts first) and record each outcome.

    Flushes only; the caller commits. Rows stay locked until then, so a concurrent sender skips them.
    """
    rows = session.execute(
        select(OutboxMessage, Consumer.openid)
        .join(Consumer, Consumer.id == OutboxMessage.consumer_id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.attempts, OutboxMessage.id)
        .limit(limit)
        .with_for_update(of=OutboxMessage, skip_locked=True)
    ).all()
    counts = {OutboxStatus.SENT: 0, OutboxStatus.FAILED: 0, OutboxStatus.PENDING: 0}
    for message, openid in rows:
        _deliver_one(message, openid, client, config)
        counts[OutboxStatus(message.status)] += 1
    session.flush()
    return DeliveryReport(
        sent=counts[OutboxStatus.SENT], failed=counts[OutboxStatus.FAILED], retrying=counts[OutboxStatus.PENDING]
    )


def _template_data(payload: Mapping[str, Any], fields: str) -> dict[str, Any]:
    """The message's fields under the template's keys, ``fields`` being "name=key,name=key"; a field
    the mapping does not name is a ``KeyError`` (sending a partial message would be misleading)."""
    keys = dict(pair.strip().split("=", 1) for pair in fields.split(",") if "=" in pair)
    return {keys[name].strip(): value for name, value in payload.items()}


def _deliver_one(message: OutboxMessage, openid: str, client: KabaoWeChatClient, config: Mapping[str, Any]) -> None:
    message.attempts += 1
    id_key, fields_key = TEMPLATE_CONFIG_KEYS.get(message.template_key, (None, None))  # StrEnum = plain value
    template_id = config.get(id_key) if id_key else None
    data, problem = None, None
    if not template_id:
        problem = f"no template id configured for {message.template_key} ({id_key})"
    else:
        try:
            data = _template_data(message.payload, config.get(fields_key) or "")
        except KeyError as missing:
            problem = f"{fields_key} names no template field for {missing}"
    if data is None:
        message.status = OutboxStatus.FAILED
        message.last_error = problem[:200]
        logger.warning("outbox message %s not sent: %s", message.id, message.last_error)
        return
    try:
        send_subscribe_message(client, openid=openid, template_id=template_id, data=data)
    except SubscribeMessageError as exc:
        message.last_error = f"errcode={exc.errcode} errmsg={exc.errmsg}"[:200]
        permanent = exc.errcode in PERMANENT_ERRCODES or message.attempts >= MAX_ATTEMPTS
        message.status = OutboxStatus.FAILED if permanent else OutboxStatus.PENDING
        logger.warning("outbox message %s: WeChat refused (%s), attempt %s", message.id, exc.errcode, message.attempts)
        return
    message.status = OutboxStatus.SENT
    message.sent_at = utcnow()
    message.last_error = None
