"""Platform operators: login and the review of merchants."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal, PrincipalKind, verify_password
from server.db import utcnow
from server.errors import Conflict, NotFound
from server.merchants.models import MERCHANT_REQUIRED_DOCUMENTS, Merchant, MerchantDocument, MerchantStatus
from server.merchants.services import get_merchant, require_documents
from server.platform.models import PlatformAdmin
from server.ratelimit import FailureLimit, guard_login
from server.storage import DocumentStorage

ADMIN_LOGIN_FAILURES = FailureLimit("login-admin", limit=5, window_seconds=900)

#: A merchant can be (re)decided while pending or after a rejection it has since answered.
REVIEWABLE = frozenset({MerchantStatus.PENDING_REVIEW, MerchantStatus.REJECTED})


def authenticate_admin(session: Session, redis: Redis, username: str, password: str, ip: str) -> Principal:
    admin = session.scalar(select(PlatformAdmin).where(PlatformAdmin.username == username))
    valid = verify_password(admin.password_hash if admin else None, password) and admin.active
    guard_login(redis, ADMIN_LOGIN_FAILURES, username, ip, succeeded=valid)
    return Principal(PrincipalKind.ADMIN, admin.id)


def merchants_by_status(status: str | None):
    stmt = select(Merchant)
    return stmt.where(Merchant.status == status) if status else stmt


def review_merchant(session: Session, admin_id: int, merchant_id: int, decision: str, comment: str) -> Merchant:
    """Approve or reject a merchant's qualifications; the comment is shown to the merchant.

    Approval needs the business licence, the legal person's ID and the company seal scan (422
    DOCUMENTS_MISSING); a rejection needs nothing."""
    merchant = get_merchant(session, merchant_id)
    if merchant.status not in REVIEWABLE:
        raise Conflict(f"商户当前状态为 {merchant.status}，不能审核")
    if decision == "approve":
        require_documents(session, merchant.id, MERCHANT_REQUIRED_DOCUMENTS)
    before = merchant.status
    merchant.status = MerchantStatus.APPROVED if decision == "approve" else MerchantStatus.REJECTED
    merchant.review_comment = comment
    merchant.reviewed_by = admin_id
    merchant.reviewed_at = utcnow()
    session.flush()
    record(session, action=f"merchant.{decision}", actor_type="admin", actor_id=admin_id, merchant_id=merchant.id,
           target_type="merchant", target_id=merchant.id,
           detail={"from": before, "to": merchant.status, "comment": comment})
    return merchant


def document_file(session: Session, storage: DocumentStorage, document_id: int) -> tuple[MerchantDocument, bytes]:
    """A qualification image and its bytes; a missing row or a missing file is the same 404."""
    document = session.get(MerchantDocument, document_id)
    if document is None:
        raise NotFound("文件不存在")
    try:
        return document, storage.load(document.storage_key)
    except FileNotFoundError:
        raise NotFound("文件不存在") from None
