"""Merchants, their qualification documents, stores and staff."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import BigId, IntPK, db
from server.models_support import CreatedAt, merchant_fk, one_of


class MerchantKind(StrEnum):
    CHAIN = "chain"
    INDIVIDUAL = "individual"
    ECOMMERCE = "ecommerce"


class MerchantStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Merchant(CreatedAt, db.Model):
    __tablename__ = "merchants"
    __table_args__ = (one_of("kind", MerchantKind), one_of("status", MerchantStatus))

    id: Mapped[IntPK]
    #: Registered business name shown to consumers.
    name: Mapped[str] = mapped_column(String(100))
    #: chain (HQ with stores), individual (one-person business) or ecommerce.
    kind: Mapped[str] = mapped_column(String(20))
    #: Industry code of the template library (restaurant, cafe, …).
    industry: Mapped[str] = mapped_column(String(40))
    #: GB/T 2260 six-digit region code of the registered address.
    region_code: Mapped[str] = mapped_column(String(6))
    #: 18-character unified social credit code of the business licence.
    license_no: Mapped[str] = mapped_column(String(18), unique=True)
    #: Legal representative as printed on the licence.
    legal_person: Mapped[str] = mapped_column(String(50))
    #: Contact mobile number.
    contact_phone: Mapped[str] = mapped_column(String(20))
    #: Platform review state; only approved merchants publish, issue and redeem.
    status: Mapped[str] = mapped_column(String(20), default=MerchantStatus.PENDING_REVIEW, index=True)
    #: The platform reviewer's last comment, shown to the merchant.
    review_comment: Mapped[str | None] = mapped_column(String(500))
    #: When the platform last decided on this merchant.
    reviewed_at: Mapped[datetime | None]
    #: Platform admin who decided.
    reviewed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("platform_admins.id"))
    #: WeChat Pay partner mode: the merchant's sub-merchant id (子商户号) under the platform's
    #: service-provider account, set by the platform; payments go straight to it.
    wechat_sub_mchid: Mapped[str | None] = mapped_column(String(32), unique=True)


class DocumentKind(StrEnum):
    BUSINESS_LICENSE = "business_license"
    LEGAL_PERSON_ID = "legal_person_id"
    COMPANY_SEAL = "company_seal"
    #: 资金保障证明 or 风险准备金缴纳凭证, needed by a merchant issuing prepaid cards.
    FUND_GUARANTEE = "fund_guarantee"

    @property
    def label(self) -> str:
        return DOCUMENT_LABELS[self]


#: Chinese names of the document kinds, for messages and the consoles.
DOCUMENT_LABELS: dict[str, str] = {
    DocumentKind.BUSINESS_LICENSE: "营业执照",
    DocumentKind.LEGAL_PERSON_ID: "法人身份证",
    DocumentKind.COMPANY_SEAL: "公章扫描件",
    DocumentKind.FUND_GUARANTEE: "资金保障证明或风险准备金缴纳凭证",
}
#: What the platform needs to approve a merchant (docs/api.md, Qualification documents).
MERCHANT_REQUIRED_DOCUMENTS = (DocumentKind.BUSINESS_LICENSE, DocumentKind.LEGAL_PERSON_ID, DocumentKind.COMPANY_SEAL)
#: What approving a prepaid (stored-value or count) product needs of its merchant as well.
PREPAID_REQUIRED_DOCUMENTS = (DocumentKind.FUND_GUARANTEE,)


class MerchantDocument(CreatedAt, db.Model):
    """A qualification image uploaded for platform review."""

    __tablename__ = "merchant_documents"
    __table_args__ = (one_of("kind", DocumentKind),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: business_license, legal_person_id, company_seal or fund_guarantee.
    kind: Mapped[str] = mapped_column(String(30))
    #: Key of the file in the document storage backend.
    storage_key: Mapped[str] = mapped_column(String(200))
    #: MIME type verified by decoding the image.
    content_type: Mapped[str] = mapped_column(String(50))
    #: Size in bytes.
    size_bytes: Mapped[int]


class Store(CreatedAt, db.Model):
    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: Store name, unique within the merchant.
    name: Mapped[str] = mapped_column(String(100))
    #: GB/T 2260 six-digit region code; selects regional discounts.
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    #: Street address.
    address: Mapped[str] = mapped_column(String(200), default="")
    #: Closed stores keep their history but accept no redemptions.
    active: Mapped[bool] = mapped_column(default=True)


class StaffRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    CASHIER = "cashier"
    FINANCE = "finance"
    OPERATIONS = "operations"


class Staff(CreatedAt, db.Model):
    __tablename__ = "staff"
    __table_args__ = (one_of("role", StaffRole),)

    id: Mapped[IntPK]
    merchant_id: Mapped[int] = merchant_fk()
    #: The one store this person acts in; NULL for HQ roles.
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    #: Login name, unique across the platform (login sends no merchant).
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: argon2id hash of the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    #: owner, manager, cashier, finance or operations.
    role: Mapped[str] = mapped_column(String(20))
    #: Disabled staff cannot log in.
    active: Mapped[bool] = mapped_column(default=True)
