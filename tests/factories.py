"""Test data builders. They add and flush, never commit: the test decides."""

from __future__ import annotations

import functools
import itertools

from sqlalchemy.orm import Session

from server.auth import hash_password
from server.cards.models import Card
from server.ledger.accounts import CardBucket, MerchantAccount, card_account, merchant_account
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import Posting, post_journal
from server.merchants.identity import uscc_check_char
from server.merchants.models import DocumentKind, Merchant, MerchantDocument, Staff, Store
from server.products.models import CardProduct

__all__ = ["CardProduct", "Merchant", "card", "documents", "merchant", "product", "staff", "store"]

_seq = itertools.count(1)


def license_no_for(n: int) -> str:
    """A well-formed unified social credit code, different for each n."""
    first17 = f"91310000MA{n:07d}"
    return first17 + uscc_check_char(first17)


def merchant(session: Session, **fields) -> Merchant:
    n = next(_seq)
    row = Merchant(
        name=fields.pop("name", f"测试商户{n}"),
        kind=fields.pop("kind", "chain"),
        industry=fields.pop("industry", "cafe"),
        region_code=fields.pop("region_code", "310101"),
        license_no=fields.pop("license_no", license_no_for(n)),
        legal_person=fields.pop("legal_person", "李四"),
        contact_phone=fields.pop("contact_phone", "13900000000"),
        status=fields.pop("status", "approved"),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def documents(session: Session, merchant_row: Merchant, kinds=tuple(DocumentKind)) -> list[MerchantDocument]:
    """Qualification document rows (no file behind them) of ``kinds``: by default all that any approval needs."""
    rows = [MerchantDocument(merchant_id=merchant_row.id, kind=kind, storage_key=f"test-{kind}.png",
                             content_type="image/png", size_bytes=1) for kind in kinds]
    session.add_all(rows)
    session.flush()
    return rows


def store(session: Session, merchant_row: Merchant, **fields) -> Store:
    row = Store(
        merchant_id=merchant_row.id,
        name=fields.pop("name", f"门店{next(_seq)}"),
        region_code=fields.pop("region_code", "310101"),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


@functools.cache
def _password_hash(password: str) -> str:
    """argon2 is slow on purpose; hash each test password once."""
    return hash_password(password)


def staff(session: Session, merchant_row: Merchant, role: str = "owner", **fields) -> Staff:
    row = Staff(
        merchant_id=merchant_row.id,
        username=fields.pop("username", f"staff{next(_seq)}"),
        password_hash=_password_hash(fields.pop("password", "secret-pass")),
        role=role,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def product(session: Session, merchant_row: Merchant, **fields) -> CardProduct:
    row = CardProduct(
        merchant_id=merchant_row.id,
        name=fields.pop("name", "储值卡"),
        kind=fields.pop("kind", "stored_value"),
        status=fields.pop("status", "published"),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def card(session: Session, product_row: CardProduct, *, principal_fen: int = 0, bonus_fen: int = 0,
         points: int = 0, uses: int = 0, **fields) -> Card:
    """A card whose opening balances are booked through the ledger, as real issuance does."""
    row = Card(
        merchant_id=product_row.merchant_id,
        product_id=product_row.id,
        card_no=fields.pop("card_no", f"62{next(_seq):014d}"),
        secret_encrypted=fields.pop("secret_encrypted", "not-a-real-secret"),
        **fields,
    )
    session.add(row)
    session.flush()
    m = product_row.merchant_id
    legs = [
        (principal_fen, CardBucket.PRINCIPAL, MerchantAccount.WECHAT_CLEARING),
        (bonus_fen, CardBucket.BONUS, MerchantAccount.PROMOTION),
        (points, CardBucket.POINTS, MerchantAccount.POINTS_ISSUANCE),
        (uses, CardBucket.USES, MerchantAccount.USES_ISSUANCE),
    ]
    postings = []
    for amount, bucket, source in legs:
        if amount:
            postings += [Posting(card_account(row.id, bucket), amount), Posting(merchant_account(m, source), -amount)]
    if postings:
        post_journal(session, merchant_id=m, kind=JournalKind.ISSUE, postings=postings,
                     actor_type=ActorType.SYSTEM, ref_type="card", ref_id=row.id)
    return row
