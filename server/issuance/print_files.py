"""Print files of a physical batch (实体卡印刷文件): who may have them, which cards, which face.

Plain arguments, no Flask: the boundary (server/issuance/downloads.py) streams what these return.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth import Principal
from server.cards.face_images import render_print_face
from server.cards.models import Card
from server.crypto import fernet
from server.errors import Conflict
from server.issuance.models import Batch, IssueMethod
from server.issuance.services import audit, get_batch
from server.merchants.models import Merchant
from server.products.models import CardProduct
from server.storage import DocumentStorage

#: Cards read (and secrets decrypted) per query while a print file streams.
READ_CHUNK = 2_000


def printable_batch(session: Session, actor: Principal, batch_id: int, file_format: str) -> Batch:
    """The caller's physical batch whose cards exist; each request for a print file is audited.

    409 for a batch of another issue method, or one still waiting for its approvals."""
    batch = get_batch(session, actor.merchant_id, batch_id)
    if batch.issue_method != IssueMethod.PHYSICAL:
        raise Conflict("只有实体卡批次有印刷文件", details={"issue_method": batch.issue_method})
    if not batch.issued_count:
        raise Conflict("批次通过审批后才会生成实体卡", details={"status": batch.status})
    audit(session, actor, "batch.print_file", "batch", batch.id, {"format": file_format, "cards": batch.quantity})
    return batch


def batch_cards(session: Session, config: Mapping[str, Any], batch_id: int) -> Iterator[tuple[str, str]]:
    """(card_no, secret) of every card of the batch in id order, read in chunks (memory stays flat)."""
    box, after = fernet(config), 0
    while True:
        rows = session.execute(
            select(Card.id, Card.card_no, Card.secret_encrypted)
            .where(Card.batch_id == batch_id, Card.id > after).order_by(Card.id).limit(READ_CHUNK)
        ).all()
        if not rows:
            return
        for _, card_no, token in rows:
            yield card_no, box.decrypt(token.encode()).decode()
        after = rows[-1][0]


def print_face(session: Session, storage: DocumentStorage, batch: Batch) -> bytes:
    """The product's uploaded face artwork, or its drawn face at print resolution (300 dpi)."""
    product = session.get_one(CardProduct, batch.product_id)
    if product.face_image:
        return storage.load(product.face_image["key"])
    merchant = session.get_one(Merchant, product.merchant_id)
    return render_print_face(merchant_name=merchant.name, product_name=product.name,
                             color=(product.style or {}).get("color", ""), kind=product.kind)
