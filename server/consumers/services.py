"""Consumer login: a ``wx.login`` code becomes a consumer row (created or found) with its session key.

Identity rule: the openid (unique per mini-program appid) is the key. When an openid is new but
WeChat returns a unionid we already know, it is the same person reaching us under another appid of
the same open-platform account (typically after the mini-program moved to a new appid): the
existing consumer is kept — with all their cards — and its openid is switched to the new one,
because subscribe messages must go to the openid of the appid that sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server import crypto
from server.consumers.models import Consumer
from server.db import utcnow
from server.wechat import WeChatSession, code_to_session
from server.wechat.client import KabaoWeChatClient

_INSERT_BY_DIALECT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def login_with_code(session: Session, client: KabaoWeChatClient, config: Mapping[str, Any], code: str) -> Consumer:
    """Exchange the code with WeChat (its errors surface as 4xx) and upsert the consumer."""
    wechat = code_to_session(client, code)
    consumer = _find(session, wechat) or _create(session, wechat)
    consumer.openid = wechat.openid
    if wechat.unionid:
        consumer.unionid = wechat.unionid
    consumer.session_key_encrypted = crypto.encrypt(config, wechat.session_key)
    consumer.last_login_at = utcnow()
    session.flush()
    return consumer


def _find(session: Session, wechat: WeChatSession) -> Consumer | None:
    consumer = session.scalar(select(Consumer).where(Consumer.openid == wechat.openid))
    if consumer is None and wechat.unionid:
        consumer = session.scalar(
            select(Consumer).where(Consumer.unionid == wechat.unionid).order_by(Consumer.id).limit(1)
        )
    return consumer


def _create(session: Session, wechat: WeChatSession) -> Consumer:
    """Insert the consumer unless a concurrent first login of the same user already did, then load it.

    ``ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite alike) instead of catching the unique
    violation: no savepoint, so the request still commits exactly once.
    """
    insert = _INSERT_BY_DIALECT[session.get_bind().dialect.name]
    session.execute(
        insert(Consumer)
        .values(openid=wechat.openid, unionid=wechat.unionid, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Consumer.openid])
    )
    return session.scalars(
        select(Consumer).where(Consumer.openid == wechat.openid).execution_options(populate_existing=True)
    ).one()
