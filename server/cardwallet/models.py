"""The WeChat member card of a product, and the link of each Kabao card to its code in WeChat.

The link row is also the outbox of the sync: a business change bumps ``change_seq`` and makes it due
(``next_attempt_at``) in its own transaction; the sync job pushes the card's values after commit and
records ``synced_seq``. Pushes send absolute values, so sending twice shows the same card.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, one_of


class MemberCardStatus(StrEnum):
    PENDING = "pending"
    CREATED = "created"
    FAILED = "failed"


class LinkStatus(StrEnum):
    #: cardExt handed to the mini-program; the consumer has not said the card was added.
    ISSUED = "issued"
    #: The consumer added it (wx.addCard succeeded): activation is due.
    ADDED = "added"
    #: Activated in WeChat; value changes are pushed with membercard/updateuser.
    ACTIVATED = "activated"
    #: The card changed hands (or left sync): nothing more is pushed to this code.
    REVOKED = "revoked"


class WeChatMemberCard(CreatedAt, db.Model):
    """A product's member card in WeChat, created by the ``cardwallet.create_card`` job."""

    __tablename__ = "wechat_member_cards"
    __table_args__ = (one_of("status", MemberCardStatus), Index(None, "status", "next_attempt_at"))

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: The product (one WeChat member card each).
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("card_products.id"), unique=True)
    #: WeChat's card_id once created.
    wx_card_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: pending (to create), created or failed (gave up after the retries).
    status: Mapped[str] = mapped_column(String(20), default=MemberCardStatus.PENDING)
    #: card/create attempts so far.
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next attempt is due (NULL once created or failed).
    next_attempt_at: Mapped[datetime | None]
    #: The claim of the job creating it now, and when that claim lapses.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[datetime | None]
    #: WeChat's last error, e.g. "errcode=40097 errmsg=invalid args".
    last_error: Mapped[str | None] = mapped_column(String(200))


class WeChatCardLink(CreatedAt, db.Model):
    """One Kabao card in one consumer's WeChat card wallet, and what WeChat was last told."""

    __tablename__ = "wechat_card_links"
    __table_args__ = (
        one_of("status", LinkStatus),
        UniqueConstraint("wx_card_id", "code"),
        Index(None, "next_attempt_at"),
    )

    #: Primary key.
    id: Mapped[IntPK]
    #: The merchant (tenant) it belongs to.
    merchant_id: Mapped[int] = merchant_fk()
    #: The Kabao card.
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), unique=True)
    #: The holder who added it; a card that changes hands stops syncing to this code.
    consumer_id: Mapped[int] = mapped_column(BigId, ForeignKey("consumers.id"))
    #: WeChat's card_id of the product's member card.
    wx_card_id: Mapped[str] = mapped_column(String(64))
    #: The custom code of this card in WeChat (random digits, also its membership number).
    code: Mapped[str] = mapped_column(String(20))
    #: issued, added, activated or revoked.
    status: Mapped[str] = mapped_column(String(20), default=LinkStatus.ISSUED)
    #: Bumped by every value change of the card (in the change's transaction).
    change_seq: Mapped[int] = mapped_column(default=0)
    #: ``change_seq`` of the values WeChat last accepted.
    synced_seq: Mapped[int] = mapped_column(default=0)
    #: What WeChat shows: balance (principal + bonus, fen), bonus part (fen) and points (WeChat's 积分).
    synced_balance_fen: Mapped[int | None]
    synced_bonus_fen: Mapped[int | None]
    synced_points: Mapped[int | None]
    #: Failed pushes since the last success or change.
    attempts: Mapped[int] = mapped_column(default=0)
    #: When a push is due (NULL: WeChat is up to date, or the retries gave up until the next change).
    next_attempt_at: Mapped[datetime | None]
    #: The claim of the job pushing it now, and when that claim lapses.
    claim_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[datetime | None]
    #: WeChat's last error.
    last_error: Mapped[str | None] = mapped_column(String(200))
    #: When WeChat activated it, and when it last accepted values.
    activated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
