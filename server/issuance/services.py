"""Channels, batches and their dual approval, and the sale rules every issuing path shares.

Stock and per-user limits hold under concurrency without application locks: stock is one
conditional UPDATE of the batch row, and the per-user count runs under the consumer's row lock.
Every path locks in one order — consumer, then redemption code, then batch — so they never deadlock.
Redemption codes live in server/issuance/codes.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.services import record
from server.auth import Principal
from server.cards.models import Card
from server.cards.physical import create_printed_cards
from server.cards.services import issue_card
from server.consumers.models import Consumer
from server.db import utcnow
from server.errors import Conflict, LimitReached, NotFound, SoldOut, ValidationError
from server.issuance.models import BATCH_LIFECYCLE, Batch, BatchApproval, BatchStatus, Channel, IssueMethod
from server.issuance.serializers import batch_to_dict
from server.ledger.models import ActorType
from server.merchants.models import Merchant, MerchantKind, MerchantStatus
from server.merchants.permissions import Action, allowed
from server.merchants.services import get_merchant, require_approved
from server.modes import Mode, session_mode
from server.products.models import CardKind, CardProduct, ProductForm, ProductStatus
from server.products.services import get_product
from server.webhooks.events import record_event

#: Which permission lets a role give each of the two approvals a prepaid batch needs, in the order an
#: owner (who holds both) gives them.
APPROVAL_ACTIONS = {"operations": Action.APPROVE_AS_OPERATIONS, "finance": Action.APPROVE_AS_FINANCE}


def audit(session: Session, actor: Principal, action: str, target_type: str, target_id: int,
          detail: dict[str, Any]) -> AuditEntry:
    """Record a staff member's issuance action in the caller's transaction."""
    return record(session, action=action, actor_type="staff", actor_id=actor.id, merchant_id=actor.merchant_id,
                  target_type=target_type, target_id=target_id, detail=detail)


# --- channels ---------------------------------------------------------------------------------------


def create_channel(session: Session, actor: Principal, fields: Mapping[str, Any]) -> Channel:
    channel = Channel(merchant_id=actor.merchant_id, **fields)
    session.add(channel)
    session.flush()
    audit(session, actor, "channel.create", "channel", channel.id, {"name": channel.name, "kind": channel.kind})
    return channel


def list_channels(merchant_id: int) -> Select:
    return select(Channel).where(Channel.merchant_id == merchant_id)


def get_channel(session: Session, merchant_id: int, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None or channel.merchant_id != merchant_id:
        raise NotFound("渠道不存在", details={"field": "channel_id"})
    return channel


# --- batches ----------------------------------------------------------------------------------------


def create_batch(session: Session, actor: Principal, fields: Mapping[str, Any],
                 config: Mapping[str, Any] | None = None) -> Batch:
    """A batch of a published product of an approved merchant.

    Prepaid products (stored_value, count) wait for dual approval; the others sell at once. A
    physical product's batch (``issue_method: physical``) creates its printed cards once active, which
    needs ``config`` (to encrypt their secrets). The request schema has already checked the fields
    that need no database."""
    require_approved(get_merchant(session, actor.merchant_id))
    product = get_product(session, actor.merchant_id, fields["product_id"])
    if product.status != ProductStatus.PUBLISHED:
        raise Conflict("只有已发布的卡种可以创建发行批次")
    get_channel(session, actor.merchant_id, fields["channel_id"])
    if product.kind == CardKind.STORED_VALUE and fields["price_fen"] > product.face_value_fen:
        raise ValidationError({"price_fen": "储值卡的售价不能高于面值"})
    physical_product = product.form == ProductForm.PHYSICAL
    if physical_product != (fields["issue_method"] == IssueMethod.PHYSICAL):
        raise ValidationError({"issue_method": "实体卡卡种须使用 physical 发行方式" if physical_product
                               else "只有实体卡卡种可以使用 physical 发行方式"})
    batch = Batch(
        merchant_id=actor.merchant_id,
        status=BatchStatus.PENDING_APPROVAL if CardKind(product.kind).prepaid else BatchStatus.ACTIVE,
        created_by=actor.id,
        **fields,
    )
    session.add(batch)
    session.flush()
    _on_activation(session, config, batch, product)
    audit(session, actor, "batch.create", "batch", batch.id,
          {"product_id": product.id, "quantity": batch.quantity, "price_fen": batch.price_fen,
           "issue_method": batch.issue_method, "status": batch.status})
    return batch


def get_batch(session: Session, merchant_id: int, batch_id: int, *, lock: bool = False) -> Batch:
    """A batch of this merchant (another merchant's batch is not found), optionally row-locked."""
    stmt = select(Batch).where(Batch.id == batch_id, Batch.merchant_id == merchant_id)
    batch = session.scalar(stmt.with_for_update() if lock else stmt)
    if batch is None:
        raise NotFound("发行批次不存在")
    return batch


def list_batches(merchant_id: int, *, status: str | None = None, product_id: int | None = None) -> Select:
    stmt = select(Batch).where(Batch.merchant_id == merchant_id)
    if status:
        stmt = stmt.where(Batch.status == status)
    if product_id:
        stmt = stmt.where(Batch.product_id == product_id)
    return stmt


def approvals_of(session: Session, batch_ids: list[int]) -> dict[int, list[BatchApproval]]:
    """Approvals of several batches in one query, oldest first."""
    found: dict[int, list[BatchApproval]] = {batch_id: [] for batch_id in batch_ids}
    rows = session.scalars(
        select(BatchApproval).where(BatchApproval.batch_id.in_(batch_ids)).order_by(BatchApproval.id)
    )
    for approval in rows:
        found[approval.batch_id].append(approval)
    return found


def _approval_role(staff_role: str | None, given: set[str]) -> str | None:
    """The first approval still missing that this role may give (an owner may give either)."""
    return next((role for role, action in APPROVAL_ACTIONS.items()
                 if role not in given and allowed(staff_role, action)), None)


def _on_activation(session: Session, config: Mapping[str, Any] | None, batch: Batch, product: CardProduct) -> None:
    """A physical batch that has just become active prints into existence: its cards are created."""
    if batch.status != BatchStatus.ACTIVE or batch.issue_method != IssueMethod.PHYSICAL:
        return
    if config is None:
        raise ValueError("creating printed cards needs the app config")
    create_printed_cards(session, config, batch, product)


def approve_batch(session: Session, actor: Principal, batch_id: int,
                  config: Mapping[str, Any] | None = None) -> Batch:
    """Record the caller's approval; with both operations and finance the batch becomes active.

    The two must be different people, except at an individual (one-person) merchant. The batch row
    is locked, so two approvals racing each other are decided one after the other."""
    batch = get_batch(session, actor.merchant_id, batch_id, lock=True)
    if not BATCH_LIFECYCLE.allows(batch.status, "approve"):
        raise Conflict("批次不在待审批状态")
    approvals = approvals_of(session, [batch.id])[batch.id]
    role = _approval_role(actor.role, {approval.role for approval in approvals})
    if role is None:
        raise Conflict("您的角色已完成审批，还需另一角色审批")
    merchant = get_merchant(session, actor.merchant_id)
    if merchant.kind != MerchantKind.INDIVIDUAL and any(a.staff_id == actor.id for a in approvals):
        raise Conflict("运营审批与财务审批须由两位不同的员工完成")
    session.add(BatchApproval(merchant_id=batch.merchant_id, batch_id=batch.id, staff_id=actor.id, role=role))
    if len(approvals) + 1 == len(APPROVAL_ACTIONS):
        BATCH_LIFECYCLE.apply(batch, "approve")
    session.flush()
    if batch.status == BatchStatus.ACTIVE:
        record_event(session, merchant_id=batch.merchant_id, type="batch.approved",
                     data=lambda: {"batch": batch_to_dict(batch, approvals_of(session, [batch.id])[batch.id])})
    _on_activation(session, config, batch, session.get_one(CardProduct, batch.product_id))
    audit(session, actor, "batch.approve", "batch", batch.id, {"role": role, "status": batch.status})
    return batch


# --- selling: rules shared by claim, code binding and purchase ------------------------------------


@dataclass(frozen=True)
class Offer:
    """A batch with the product and merchant its cards need."""

    batch: Batch
    product: CardProduct
    merchant: Merchant


def find_batch(session: Session, batch_id: int) -> Offer:
    """Any batch with its product and merchant, as consumers may look it up."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("发行批次不存在")
    return Offer(batch, session.get_one(CardProduct, batch.product_id), session.get_one(Merchant, batch.merchant_id))


def ensure_on_sale(offer: Offer, method: IssueMethod, now: datetime | None = None) -> None:
    """Refuse (409) unless the batch sells by ``method`` right now: approved, active, within its window."""
    batch = offer.batch
    if batch.issue_method != method:
        raise Conflict("该批次不支持此领取方式")
    if offer.merchant.status != MerchantStatus.APPROVED:
        raise Conflict("商户暂停营业")
    if batch.status == BatchStatus.PENDING_APPROVAL:
        raise Conflict("批次尚未通过审批")
    # A product's test run sells from its own test batch before the product is published.
    on_sale = offer.product.status == ProductStatus.PUBLISHED or (
        batch.mode == Mode.TEST and offer.product.status == ProductStatus.APPROVED)
    if batch.status != BatchStatus.ACTIVE or not on_sale:
        raise Conflict("批次已停止发行")
    now = now or utcnow()
    if batch.sale_start is not None and now < batch.sale_start:
        raise Conflict("尚未开始发行")
    if batch.sale_end is not None and now > batch.sale_end:
        raise Conflict("发行已结束")


def enforce_per_user_limit(session: Session, batch: Batch, consumer_id: int) -> None:
    """409 LIMIT_REACHED when the consumer already received ``per_user_limit`` cards of the batch.

    The consumer's row is locked first (``SELECT … FOR UPDATE``), so one consumer's concurrent
    requests count one after the other and each sees the cards the previous ones issued."""
    if batch.per_user_limit is None:
        return
    if session.scalar(select(Consumer.id).where(Consumer.id == consumer_id).with_for_update()) is None:
        raise NotFound("用户不存在")
    received = session.scalar(
        select(func.count()).select_from(Card).where(Card.batch_id == batch.id, Card.issued_to_id == consumer_id)
    )
    if received >= batch.per_user_limit:
        raise LimitReached(details={"per_user_limit": batch.per_user_limit})


def take_from_stock(session: Session, batch: Batch) -> None:
    """Count one card against the batch quantity with one conditional UPDATE; 409 SOLD_OUT when none is left.

    Concurrent takers queue on the batch row and each re-checks the condition against the committed
    count, so the quantity is never exceeded. A test card counts against no live batch's quantity."""
    if session_mode(session) == Mode.TEST and batch.mode == Mode.LIVE:
        return
    taken = session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.issued_count < Batch.quantity)
        .values(issued_count=Batch.issued_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(batch, ["issued_count"])
    if taken != 1:
        raise SoldOut()


def claim(session: Session, config: Mapping[str, Any], *, batch_id: int, consumer_id: int) -> tuple[Card, Offer]:
    """A free card from a claim batch, issued at once."""
    offer = find_batch(session, batch_id)
    ensure_on_sale(offer, IssueMethod.CLAIM)
    enforce_per_user_limit(session, offer.batch, consumer_id)
    take_from_stock(session, offer.batch)
    card = issue_card(session, config, product=offer.product, batch=offer.batch, owner_id=consumer_id, paid_fen=0,
                      actor_type=ActorType.CONSUMER, actor_id=consumer_id)
    return card, offer
