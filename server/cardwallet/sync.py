"""The card-wallet jobs' side: find what is due, claim it, call WeChat, record the outcome.

Each job (server/jobs/tasks.py) claims one row with a conditional UPDATE (``claim_*``) and commits
before WeChat is called (``prepare_*`` → commit → ``call_*`` → ``record_*`` → commit): no row lock is
held during the call, so a business change never waits for WeChat, and a job run twice calls once.
A failure is logged and retried after RETRY_DELAYS, then given up until the card's next change (a
link) or for good (a member card, ``failed``).

Pushes send the card's current absolute values (``balance``, ``bonus``) with the change since the
last accepted push (``add_balance``, ``add_bonus``: what WeChat's message shows), as wechatpy's
``update_membercard`` recommends against failed syncs: sending again shows the same card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from server.cards.models import Card
from server.cardwallet.models import LinkStatus, MemberCardStatus, WeChatCardLink, WeChatMemberCard
from server.cardwallet.services import error_text, is_test, new_claim_token, unclaimed
from server.merchants.models import Merchant
from server.money import yuan
from server.products.models import CardProduct
from server.wechat.card_wallet import CardWalletError, activate_member_card, create_member_card, update_member_card
from server.wechat.client import KabaoWeChatClient

logger = logging.getLogger(__name__)

#: Wait after the 1st, 2nd, … failed attempt; after the last one the sync gives up.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 120, 240, 480))
#: A claim lapses after this (the job died mid-call), so the row is tried again.
LEASE = timedelta(minutes=2)
#: Rows one sweep hands out at most.
DISPATCH_BATCH = 200
#: WeChat's limits: title ≤ 9 Chinese characters, brand_name ≤ 12, notice ≤ 16.
TITLE_CHARS, BRAND_CHARS, NOTICE_CHARS, DESCRIPTION_CHARS = 9, 12, 16, 1000


def _retry_at(attempts: int, now: datetime) -> datetime | None:
    return now + RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else None


def due_member_cards(session: Session, now: datetime, limit: int = DISPATCH_BATCH) -> list[int]:
    return list(session.scalars(
        select(WeChatMemberCard.id)
        .where(WeChatMemberCard.status == MemberCardStatus.PENDING, WeChatMemberCard.next_attempt_at <= now,
               unclaimed(WeChatMemberCard, now))
        .order_by(WeChatMemberCard.next_attempt_at, WeChatMemberCard.id).limit(limit)
    ))


def due_links(session: Session, now: datetime, limit: int = DISPATCH_BATCH) -> list[tuple[int, int]]:
    """(link id, change_seq) of links due for a push."""
    return [(row.id, row.change_seq) for row in session.execute(
        select(WeChatCardLink.id, WeChatCardLink.change_seq)
        .where(WeChatCardLink.next_attempt_at <= now, unclaimed(WeChatCardLink, now),
               WeChatCardLink.status.in_((LinkStatus.ADDED, LinkStatus.ACTIVATED)))
        .order_by(WeChatCardLink.next_attempt_at, WeChatCardLink.id).limit(limit)
    )]


def _claim(session: Session, model: Any, row_id: int, now: datetime, *criteria: Any) -> str | None:
    token = new_claim_token()
    won = session.execute(
        update(model)
        .where(model.id == row_id, model.next_attempt_at <= now, unclaimed(model, now), *criteria)
        .values(claim_token=token, locked_until=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    return token if won == 1 else None


def claim_member_card(session: Session, row_id: int, now: datetime) -> str | None:
    """Claim a pending member card for creation (None: another job has it, or it is done)."""
    return _claim(session, WeChatMemberCard, row_id, now, WeChatMemberCard.status == MemberCardStatus.PENDING)


def claim_link(session: Session, link_id: int, now: datetime) -> str | None:
    """Claim a due link for a push (None: another job has it, or WeChat is up to date)."""
    return _claim(session, WeChatCardLink, link_id, now,
                  WeChatCardLink.status.in_((LinkStatus.ADDED, LinkStatus.ACTIVATED)))


def member_card_data(product: CardProduct, merchant: Merchant, public_base_url: str) -> dict[str, Any]:
    """``card/create``'s body for a product: a member card with balance (fen) and bonus (积分 = points),
    custom codes (one per Kabao card), no barcode (cashiers scan the mini-program's dynamic code),
    activated by Kabao through the API. The bonus part of the balance shows in custom field 1."""
    style = product.style or {}
    return {"card": {"card_type": "MEMBER_CARD", "member_card": {
        "base_info": {
            "logo_url": style.get("logo_url") or f"{public_base_url}/static/logo.png",
            "brand_name": merchant.name[:BRAND_CHARS],
            "code_type": "CODE_TYPE_NONE",
            "title": product.name[:TITLE_CHARS],
            "color": "Color010",
            "notice": "请在小程序出示会员码"[:NOTICE_CHARS],
            "description": (product.terms or product.name)[:DESCRIPTION_CHARS],
            "date_info": {"type": "DATE_TYPE_PERMANENT"},
            "sku": {"quantity": 0},
            "use_custom_code": True,
            "get_limit": 1,
            "can_share": False,
            "can_give_friend": False,
        },
        "supply_bonus": True,
        "supply_balance": True,
        "prerogative": (product.terms or product.name)[:DESCRIPTION_CHARS],
        "custom_field1": {"name": "赠送金额"},
        "auto_activate": False,
        "wx_activate": False,
    }}}


@dataclass(frozen=True)
class Creation:
    """A claimed member card to create: the row, its claim and card/create's body."""

    row_id: int
    claim: str
    product_id: int
    data: dict[str, Any]


def prepare_creation(session: Session, row_id: int, claim: str, public_base_url: str) -> Creation:
    row = session.get_one(WeChatMemberCard, row_id, populate_existing=True)
    product = session.get_one(CardProduct, row.product_id)
    merchant = session.get_one(Merchant, row.merchant_id)
    return Creation(row_id, claim, row.product_id, member_card_data(product, merchant, public_base_url))


def call_create(client: KabaoWeChatClient, creation: Creation) -> tuple[str | None, CardWalletError | None]:
    """card/create (no database: the caller has committed the claim); (card_id, None) or (None, error)."""
    try:
        return create_member_card(client, creation.data), None
    except CardWalletError as exc:
        return None, exc


def record_creation(session: Session, creation: Creation, wx_card_id: str | None, error: CardWalletError | None,
                    now: datetime) -> str:
    """Record card/create's outcome under the claim; the row's status (unchanged if the claim lapsed)."""
    row = session.get_one(WeChatMemberCard, creation.row_id, populate_existing=True)
    if row.claim_token != creation.claim:
        return row.status  # whoever holds the claim now records its own outcome
    row.claim_token = row.locked_until = None
    row.attempts += 1
    if error is None:
        row.wx_card_id, row.status = wx_card_id, MemberCardStatus.CREATED
        row.next_attempt_at = row.last_error = None
    else:
        row.last_error = error_text(error)
        row.next_attempt_at = _retry_at(row.attempts, now)
        if row.next_attempt_at is None:
            row.status = MemberCardStatus.FAILED
        logger.warning("card wallet: card/create for product %s failed (%s), attempt %s", row.product_id,
                       row.last_error, row.attempts)
    session.flush()
    return row.status


@dataclass(frozen=True)
class Values:
    balance_fen: int
    bonus_fen: int
    points: int

    @classmethod
    def of(cls, card: Card) -> Values:
        return cls(card.principal_fen + card.bonus_fen, card.bonus_fen, card.points)


def _push_fields(link: WeChatCardLink, values: Values) -> dict[str, Any] | None:
    """updateuser's fields: absolute values, and the change since WeChat's last accepted values
    (None: WeChat already shows these values)."""
    synced = Values(link.synced_balance_fen or 0, link.synced_bonus_fen or 0, link.synced_points or 0)
    if synced == values:
        return None
    fields: dict[str, Any] = {"balance": values.balance_fen, "bonus": values.points,
                              "custom_field_value1": f"¥{yuan(values.bonus_fen)}"}
    if values.balance_fen != synced.balance_fen:
        change = values.balance_fen - synced.balance_fen
        fields["add_balance"] = change
        fields["record_balance"] = f"余额{'增加' if change > 0 else '减少'}{yuan(abs(change))}元"
    if values.points != synced.points:
        fields["add_bonus"] = values.points - synced.points
        fields["record_bonus"] = f"积分变动{values.points - synced.points:+d}"
    return fields


@dataclass(frozen=True)
class Push:
    """A claimed link's push: activate (first time) or update, with the card's values at ``seq``."""

    link_id: int
    claim: str
    seq: int
    values: Values
    wx_card_id: str
    code: str
    activate: bool
    fields: dict[str, Any] | None


def prepare_push(session: Session, link_id: int, claim: str, now: datetime) -> Push | str:
    """The push to make for a claimed link, or what happened instead ("revoked": the card changed
    hands; "unchanged": WeChat already shows its values). Flushes only."""
    link = session.get_one(WeChatCardLink, link_id, populate_existing=True)
    card = session.get_one(Card, link.card_id, populate_existing=True)
    seq, values, activating = link.change_seq, Values.of(card), link.status == LinkStatus.ADDED
    if card.owner_id != link.consumer_id or is_test(card):
        link.status, link.next_attempt_at, link.claim_token, link.locked_until = LinkStatus.REVOKED, None, None, None
        session.flush()
        return "revoked"
    fields = None if activating else _push_fields(link, values)
    if not activating and fields is None:
        _record_success(session, link_id, claim, seq, values, now, activated=False)
        return "unchanged"
    return Push(link_id, claim, seq, values, link.wx_card_id, link.code, activating, fields)


def call_push(client: KabaoWeChatClient, push: Push) -> CardWalletError | None:
    """membercard/activate or membercard/updateuser (no database: the caller has committed the claim)."""
    values = push.values
    try:
        if push.activate:
            activate_member_card(client, card_id=push.wx_card_id, code=push.code, membership_number=push.code,
                                 init_balance=values.balance_fen, init_bonus=values.points,
                                 init_custom_field_value1=f"¥{yuan(values.bonus_fen)}")
        else:
            update_member_card(client, card_id=push.wx_card_id, code=push.code, **(push.fields or {}))
    except CardWalletError as exc:
        return exc
    return None


def record_push(session: Session, push: Push, error: CardWalletError | None, now: datetime) -> str:
    """Record the push's outcome under its claim: activated, updated, retrying, gave_up or lost."""
    if error is None:
        won = _record_success(session, push.link_id, push.claim, push.seq, push.values, now, activated=push.activate)
        return ("activated" if push.activate else "updated") if won else "lost"
    return _record_failure(session, push.link_id, push.claim, error, now)


def _record_success(session: Session, link_id: int, claim: str, seq: int, values: Values, now: datetime,
                    *, activated: bool) -> bool:
    extra = {"status": LinkStatus.ACTIVATED, "activated_at": now} if activated else {}
    won = session.execute(
        update(WeChatCardLink)
        .where(WeChatCardLink.id == link_id, WeChatCardLink.claim_token == claim)
        .values(synced_seq=seq, synced_balance_fen=values.balance_fen, synced_bonus_fen=values.bonus_fen,
                synced_points=values.points, synced_at=now, attempts=0, last_error=None, claim_token=None,
                locked_until=None,
                # a change committed meanwhile keeps it due
                next_attempt_at=case((WeChatCardLink.change_seq > seq, now), else_=None), **extra)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.flush()
    return won == 1


def _record_failure(session: Session, link_id: int, claim: str, error: CardWalletError, now: datetime) -> str:
    link = session.get_one(WeChatCardLink, link_id, populate_existing=True)
    if link.claim_token != claim:
        return "lost"
    link.attempts += 1
    link.last_error = error_text(error)
    link.next_attempt_at = _retry_at(link.attempts, now)
    link.claim_token = link.locked_until = None
    session.flush()
    logger.warning("card wallet: push of card %s failed (%s), attempt %s%s", link.card_id, link.last_error,
                   link.attempts, "" if link.next_attempt_at else "; giving up until its next change")
    return "retrying" if link.next_attempt_at else "gave_up"
