"""Cards: one issued member card with its cached balances and transfers between holders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, non_negative, one_of
from server.modes import ModeScoped
from server.transitions import Lifecycle


class CardStatus(StrEnum):
    #: A printed card of a physical batch, not yet sold at the counter.
    INACTIVE = "inactive"
    ACTIVE = "active"
    FROZEN = "frozen"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    #: A named card whose value moved to a replacement card (补办); empty for good.
    REPLACED = "replaced"


#: A card's lifecycle. A printed card starts inactive until it is sold at the counter. An expired
#: card can be brought back (unnamed cards must be, on request); a refunded or replaced card is empty
#: for good. Reporting a named card lost freezes it; its value can then move to a replacement.
CARD_LIFECYCLE = Lifecycle(CardStatus, {
    (CardStatus.INACTIVE, "activate"): CardStatus.ACTIVE,
    (CardStatus.ACTIVE, "report_lost"): CardStatus.FROZEN,
    (CardStatus.ACTIVE, "replace"): CardStatus.REPLACED,
    (CardStatus.FROZEN, "replace"): CardStatus.REPLACED,
    (CardStatus.EXPIRED, "replace"): CardStatus.REPLACED,
    (CardStatus.ACTIVE, "freeze"): CardStatus.FROZEN,
    (CardStatus.FROZEN, "unfreeze"): CardStatus.ACTIVE,
    (CardStatus.ACTIVE, "expire"): CardStatus.EXPIRED,
    (CardStatus.EXPIRED, "reactivate"): CardStatus.ACTIVE,
    (CardStatus.ACTIVE, "refund"): CardStatus.REFUNDED,
    (CardStatus.EXPIRED, "refund"): CardStatus.REFUNDED,
    (CardStatus.FROZEN, "refund"): CardStatus.REFUNDED,
}, noun="卡")


class Card(ModeScoped, CreatedAt, db.Model):
    """A member card. Balances are a cache of the ledger, written only by the ledger service."""

    __tablename__ = "cards"
    __table_args__ = (
        one_of("status", CardStatus),
        *non_negative("principal_fen", "bonus_fen", "points", "uses_remaining"),
        Index(None, "merchant_id", "status"),
    )

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("card_products.id"), index=True)
    #: Batch it was issued from.
    batch_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("batches.id"), index=True)
    #: Card number: product prefix + random digits + Luhn check digit.
    card_no: Mapped[str] = mapped_column(String(19), unique=True)
    #: Card secret (卡密), Fernet-encrypted with DATA_ENCRYPTION_KEY.
    secret_encrypted: Mapped[str] = mapped_column(String(200))
    #: Current holder; NULL for an unbound card.
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consumers.id"), index=True)
    #: Consumer the card was issued to; unlike the owner it survives transfers, so per-user batch limits count it.
    issued_to_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consumers.id"), index=True)
    #: inactive, active, frozen, expired, refunded or replaced.
    status: Mapped[str] = mapped_column(String(20), default=CardStatus.ACTIVE)
    #: Cached principal balance (本金), fen.
    principal_fen: Mapped[int] = mapped_column(default=0)
    #: Cached bonus balance (赠送金额), fen.
    bonus_fen: Mapped[int] = mapped_column(default=0)
    #: Cached points balance.
    points: Mapped[int] = mapped_column(default=0)
    #: Cached remaining uses of a count card.
    uses_remaining: Mapped[int] = mapped_column(default=0)
    #: When the card was activated (validity of relative products starts here).
    activated_at: Mapped[datetime | None]
    #: Expiry; NULL = no expiry.
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    #: The lost card this one replaced (补办), whose balances it took over.
    replaces_card_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cards.id"))

    @property
    def balance_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


class TransferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class Transfer(ModeScoped, CreatedAt, db.Model):
    """A one-time offer to hand a card to another consumer (转赠)."""

    __tablename__ = "transfers"
    __table_args__ = (one_of("status", TransferStatus),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    card_id: Mapped[int] = mapped_column(BigId, ForeignKey("cards.id"), index=True)
    #: Holder who offered the card.
    from_consumer_id: Mapped[int] = mapped_column(BigId, ForeignKey("consumers.id"))
    #: Holder who accepted it.
    to_consumer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consumers.id"))
    #: SHA-256 of the one-time transfer token (the token itself is only given to the sender).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: pending, accepted or cancelled.
    status: Mapped[str] = mapped_column(String(20), default=TransferStatus.PENDING)
    #: The token is refused after this moment.
    expires_at: Mapped[datetime]
    #: When the recipient accepted.
    accepted_at: Mapped[datetime | None]
