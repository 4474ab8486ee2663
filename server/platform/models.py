"""Platform administrators."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import IntPK, db
from server.models_support import CreatedAt


class PlatformAdmin(CreatedAt, db.Model):
    __tablename__ = "platform_admins"

    id: Mapped[IntPK]
    #: Login name.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: argon2id hash of the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Disabled admins cannot log in.
    active: Mapped[bool] = mapped_column(default=True)
