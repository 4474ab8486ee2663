"""Merchant onboarding, staff login, stores and staff. Plain arguments in, rows out; flush only."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal, PrincipalKind, hash_password, verify_password
from server.errors import DocumentsMissing, Forbidden, MerchantNotApproved, NotFound, ValidationError
from server.merchants.models import (
    DOCUMENT_LABELS,
    DocumentKind,
    Merchant,
    MerchantDocument,
    MerchantKind,
    MerchantStatus,
    Staff,
    StaffRole,
    Store,
)
from server.ratelimit import FailureLimit, guard_login
from server.storage import DocumentStorage

#: Wrong passwords: 5 per username in 15 minutes (and 20 per address, server/ratelimit.py), then 429.
LOGIN_FAILURES_PER_USER = FailureLimit("login-user", limit=5, window_seconds=900)

#: Qualification images: what Pillow must decode them as, and how big they may be.
DOCUMENT_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_PIXELS = 40_000_000

#: Roles tied to one store; HQ roles (owner, finance, operations) never are.
STORE_ROLES = frozenset({StaffRole.CASHIER, StaffRole.MANAGER})


@dataclass(frozen=True)
class Registration:
    merchant_name: str
    kind: MerchantKind
    industry: str
    region_code: str
    license_no: str
    legal_person: str
    contact_phone: str
    username: str
    password: str


def _ensure_username_free(session: Session, username: str) -> None:
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise ValidationError({"username": "用户名已被使用"})


def register_merchant(session: Session, data: Registration, *, ip: str | None = None) -> Merchant:
    """A new merchant in pending_review with its owner account; it may prepare but not publish."""
    if session.scalar(select(Merchant.id).where(Merchant.license_no == data.license_no)) is not None:
        raise ValidationError({"license_no": "该统一社会信用代码已注册"})
    _ensure_username_free(session, data.username)
    merchant = Merchant(
        name=data.merchant_name,
        kind=data.kind,
        industry=data.industry,
        region_code=data.region_code,
        license_no=data.license_no,
        legal_person=data.legal_person,
        contact_phone=data.contact_phone,
        status=MerchantStatus.PENDING_REVIEW,
    )
    session.add(merchant)
    session.flush()
    owner = Staff(
        merchant_id=merchant.id, username=data.username, password_hash=hash_password(data.password),
        role=StaffRole.OWNER,
    )
    session.add(owner)
    session.flush()
    record(session, action="merchant.register", actor_type="staff", actor_id=owner.id, merchant_id=merchant.id,
           target_type="merchant", target_id=merchant.id, ip=ip)
    return merchant


def authenticate_staff(session: Session, redis: Redis, username: str, password: str, ip: str) -> Principal:
    """Check a staff password; failures are rate-limited per username and per address."""
    staff = session.scalar(select(Staff).where(Staff.username == username))
    valid = verify_password(staff.password_hash if staff else None, password) and staff.active
    guard_login(redis, LOGIN_FAILURES_PER_USER, username, ip, succeeded=valid)
    return Principal(PrincipalKind.STAFF, staff.id, merchant_id=staff.merchant_id, role=staff.role,
                     store_id=staff.store_id)


def get_merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("商户不存在")
    return merchant


def require_approved(merchant: Merchant) -> None:
    """Publishing, issuing and redeeming need a merchant the platform approved."""
    if merchant.status != MerchantStatus.APPROVED:
        raise MerchantNotApproved()


def get_store(session: Session, merchant_id: int, store_id: int) -> Store:
    """A store of this merchant; another merchant's store is simply not found."""
    store = session.get(Store, store_id)
    if store is None or store.merchant_id != merchant_id:
        raise NotFound("门店不存在")
    return store


def _require_hq(actor: Principal) -> None:
    if actor.store_id is not None:
        raise Forbidden("门店员工无权执行总部操作")


def create_store(session: Session, actor: Principal, *, name: str, region_code: str, address: str) -> Store:
    _require_hq(actor)
    if session.scalar(select(Store.id).where(Store.merchant_id == actor.merchant_id, Store.name == name)):
        raise ValidationError({"name": "门店名称已存在"})
    store = Store(merchant_id=actor.merchant_id, name=name, region_code=region_code, address=address)
    session.add(store)
    session.flush()
    record(session, action="store.create", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="store", target_id=store.id, detail={"name": name, "region_code": region_code})
    return store


def list_stores(session: Session, actor: Principal) -> list[Store]:
    """HQ sees every store; staff tied to a store see only theirs."""
    stmt = select(Store).where(Store.merchant_id == actor.merchant_id).order_by(Store.id)
    if actor.store_id is not None:
        stmt = stmt.where(Store.id == actor.store_id)
    return list(session.scalars(stmt))


def create_staff(
    session: Session, actor: Principal, *, username: str, password: str, role: StaffRole, store_id: int | None
) -> Staff:
    """Add a staff member. Only the owner creates owners and managers; store staff act in their store only."""
    if role in (StaffRole.OWNER, StaffRole.MANAGER) and actor.role != StaffRole.OWNER:
        raise Forbidden("只有店主可以创建店主或店长账号")
    if role == StaffRole.CASHIER and store_id is None:
        raise ValidationError({"store_id": "收银员必须指定门店"})
    if role not in STORE_ROLES and store_id is not None:
        raise ValidationError({"store_id": "总部角色不属于单个门店"})
    if store_id is not None:
        get_store(session, actor.merchant_id, store_id)
        if actor.store_id is not None and actor.store_id != store_id:
            raise Forbidden("只能为本门店创建员工")
    elif actor.store_id is not None:
        raise Forbidden("门店员工不能创建总部账号")
    _ensure_username_free(session, username)
    staff = Staff(merchant_id=actor.merchant_id, store_id=store_id, username=username,
                  password_hash=hash_password(password), role=role)
    session.add(staff)
    session.flush()
    record(session, action="staff.create", actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
           target_type="staff", target_id=staff.id, detail={"role": role, "store_id": store_id})
    return staff


def list_staff(session: Session, actor: Principal) -> list[Staff]:
    stmt = select(Staff).where(Staff.merchant_id == actor.merchant_id).order_by(Staff.id)
    if actor.store_id is not None:
        stmt = stmt.where(Staff.store_id == actor.store_id)
    return list(session.scalars(stmt))


def _image_format(data: bytes) -> tuple[str | None, str | None]:
    """(format, None) of a real PNG/JPEG/WebP image of sane size, else (None, why not)."""
    if len(data) > DOCUMENT_MAX_BYTES:
        return None, "图片不能超过 5MB"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return None, "请上传 PNG、JPEG 或 WebP 图片"
    if image_format not in DOCUMENT_FORMATS or width * height > DOCUMENT_MAX_PIXELS:
        return None, "请上传 PNG、JPEG 或 WebP 图片"
    return image_format, None


def document_problems(documents: Mapping[str, bytes]) -> dict[str, str]:
    """Why each of ``documents`` (kind → file) would be refused, keyed ``document_<kind>`` as the sign-up
    form names its file inputs; empty when all are acceptable."""
    problems = {kind: _image_format(data)[1] for kind, data in documents.items()}
    return {f"document_{kind}": message for kind, message in problems.items() if message}


def upload_document(
    session: Session, storage: DocumentStorage, actor: Principal, *, kind: DocumentKind, data: bytes
) -> MerchantDocument:
    """Store a qualification image after Pillow proves it is a real PNG/JPEG/WebP of sane size."""
    image_format, problem = _image_format(data)
    if problem:
        raise ValidationError({"file": problem})
    key = storage.save(data, DOCUMENT_FORMATS[image_format])
    document = MerchantDocument(merchant_id=actor.merchant_id, kind=kind, storage_key=key,
                                content_type=Image.MIME[image_format], size_bytes=len(data))
    session.add(document)
    session.flush()
    record(session, action="merchant.document_upload", actor_type="staff", actor_id=actor.id,
           merchant_id=actor.merchant_id, target_type="document", target_id=document.id, detail={"kind": kind})
    return document


def sign_up(session: Session, storage: DocumentStorage, data: Registration, documents: Mapping[str, bytes], *,
            ip: str | None = None) -> Principal:
    """Self sign-up in the console: the merchant (pending review) and its owner, as
    ``POST /api/v1/merchant/register`` makes them, with the qualification images given at once.
    Returns the owner, to be signed in."""
    problems = document_problems(documents)
    if problems:
        raise ValidationError(problems)
    merchant = register_merchant(session, data, ip=ip)
    owner_id = session.scalar(select(Staff.id).where(Staff.merchant_id == merchant.id, Staff.role == StaffRole.OWNER))
    owner = Principal(PrincipalKind.STAFF, owner_id, merchant_id=merchant.id, role=StaffRole.OWNER)
    for kind, blob in documents.items():
        upload_document(session, storage, owner, kind=DocumentKind(kind), data=blob)
    return owner


def list_documents(session: Session, merchant_id: int) -> list[MerchantDocument]:
    return list(session.scalars(
        select(MerchantDocument).where(MerchantDocument.merchant_id == merchant_id).order_by(MerchantDocument.id)
    ))


def missing_documents(session: Session, merchant_id: int, required: Iterable[DocumentKind]) -> list[str]:
    """The kinds in ``required`` of which the merchant has uploaded no document, in ``required``'s order."""
    uploaded = set(session.scalars(select(MerchantDocument.kind).where(MerchantDocument.merchant_id == merchant_id)))
    return [str(kind) for kind in required if kind not in uploaded]


def require_documents(session: Session, merchant_id: int, required: Iterable[DocumentKind]) -> None:
    """422 DOCUMENTS_MISSING (``details.missing``, the Chinese names in the message) unless all are uploaded."""
    missing = missing_documents(session, merchant_id, required)
    if missing:
        names = "、".join(DOCUMENT_LABELS[kind] for kind in missing)
        raise DocumentsMissing(missing, f"缺少资质文件：{names}，请商户上传后再审核通过")
