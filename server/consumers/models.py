"""Consumers, identified by their WeChat openid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import IntPK, db
from server.models_support import CreatedAt


class Consumer(CreatedAt, db.Model):
    __tablename__ = "consumers"

    id: Mapped[IntPK]
    #: The user's openid under our mini-program.
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    #: Open-platform unionid, when WeChat returns one.
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: WeChat session_key encrypted with DATA_ENCRYPTION_KEY; never sent to a client.
    session_key_encrypted: Mapped[str | None] = mapped_column(String(400))
    #: Last successful login.
    last_login_at: Mapped[datetime | None]
