"""The open API's domain: cards issued to a merchant's own members with a bind code, binding that
code in the mini-program, top-ups of money the merchant collected itself, and redemptions for the
merchant's own orders.

Nothing here re-implements a rule: issuing goes through the sale rules and card issuance of
server/issuance and server/cards, top-ups through the WeChat top-up's tier, bonus and cap check,
redemptions and reversals through the cashier's. What is added: the member (by the merchant's
``external_id``), the bind code (kept as a keyed hash, single use), and the merchant's order numbers,
each claimed first under a unique constraint so one order is booked once however requests race.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redis import Redis
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.services import record
from server.cards import wallet
from server.cards.face_links import FaceLinks
from server.cards.members import MEMBER_LOOKUPS, SEARCH_LIMIT
from server.cards.models import Card
from server.cards.services import issue_card
from server.cardwallet.services import request_sync
from server.crypto import code_hash_key, encrypt, keyed_hash
from server.db import utcnow
from server.direct_writes import insert_row
from server.errors import CodeInvalid, Conflict, DuplicateExternalOrder, LimitReached, NotFound
from server.issuance.codes import CODE_ALPHABET, normalize_code, reserve_code
from server.issuance.models import IssueMethod
from server.issuance.services import Offer, ensure_on_sale, find_batch, get_batch, take_from_stock
from server.ledger.accounts import MerchantAccount
from server.ledger.models import ActorType, JournalKind
from server.ledger.services import lock_cards, post_journal
from server.merchants.models import Merchant
from server.merchants.services import get_merchant, require_approved
from server.open.auth import KeyActor
from server.open.models import ExternalRedemption, ExternalTopUp, Member, MemberCard
from server.pagination import decode_cursor, encode_cursor
from server.payments import top_ups
from server.payments.effects import top_up_postings
from server.products.models import CardProduct
from server.redemption import services as redemption
from server.redemption.models import Redemption

#: Bind codes: 20 characters of the redemption codes' unambiguous alphabet (about 99 bits).
BIND_CODE_LENGTH = 20
#: Batches the open API issues from: free claims and code batches (whose code it hands out itself).
ISSUE_METHODS = (IssueMethod.CLAIM, IssueMethod.CODE)

_INSERT_BY_DIALECT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def audit(session: Session, actor: KeyActor, action: str, target_type: str, target_id: int,
          detail: dict[str, Any]) -> None:
    record(session, action=action, actor_type="api_key", actor_id=actor.api_key_id, merchant_id=actor.merchant_id,
           target_type=target_type, target_id=target_id, detail=detail)


# --- members and their cards ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFields:
    """A member as the merchant's system describes them."""

    external_id: str
    name: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class IssuedCard:
    card: Card
    member: Member
    #: The plaintext bind code: returned once, stored only as a keyed hash.
    bind_code: str


def mask_mobile(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else "****"


def new_bind_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(BIND_CODE_LENGTH))


def bind_code_digest(config: Mapping[str, Any], code: str) -> str:
    return keyed_hash(code_hash_key(config), normalize_code(code))


def _locked_member(session: Session, config: Mapping[str, Any], merchant_id: int, fields: MemberFields) -> Member:
    """The member (created on first sight), row-locked, so one member's concurrent issues count one
    after the other. ``ON CONFLICT DO NOTHING``: two first issues for one member create one row."""
    insert = _INSERT_BY_DIALECT[session.get_bind().dialect.name]
    session.execute(
        insert(Member).values(merchant_id=merchant_id, external_id=fields.external_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Member.merchant_id, Member.external_id])
    )
    member = session.scalars(
        select(Member).where(Member.merchant_id == merchant_id, Member.external_id == fields.external_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    if fields.name is not None:
        member.name = fields.name
    if fields.mobile is not None:
        member.mobile_encrypted, member.mobile_masked = encrypt(config, fields.mobile), mask_mobile(fields.mobile)
    return member


def _enforce_per_member_limit(session: Session, offer: Offer, member: Member) -> None:
    """The batch's per-user limit, counted per member (the member's row is locked)."""
    limit = offer.batch.per_user_limit
    if limit is None:
        return
    received = session.scalar(select(func.count()).select_from(MemberCard).where(
        MemberCard.member_id == member.id, MemberCard.batch_id == offer.batch.id))
    if received >= limit:
        raise LimitReached(details={"per_user_limit": limit})


def issue_member_card(session: Session, config: Mapping[str, Any], actor: KeyActor, *, batch_id: int,
                      member: MemberFields) -> IssuedCard:
    """Issue a card of one of the merchant's claim or code batches to its member, with a bind code.

    The batch's sale rules hold as for any claim (approved, active, within its window); stock and the
    per-user limit (by ``external_id``) too. A code batch's card counts as a code bound at once. A code
    batch's price, collected by the merchant, is booked from its external clearing account. The card
    has no holder until the person binds the code in the mini-program."""
    batch = get_batch(session, actor.merchant_id, batch_id)
    offer = Offer(batch, session.get_one(CardProduct, batch.product_id), session.get_one(Merchant, batch.merchant_id))
    if batch.issue_method not in ISSUE_METHODS:
        raise Conflict("开放接口只能发放领取批次或兑换码批次的卡", details={"issue_method": batch.issue_method})
    method = IssueMethod(batch.issue_method)
    ensure_on_sale(offer, method)
    row = _locked_member(session, config, actor.merchant_id, member)
    _enforce_per_member_limit(session, offer, row)
    if method == IssueMethod.CODE:
        reserve_code(session, batch)
    take_from_stock(session, batch)
    card = issue_card(session, config, product=offer.product, batch=batch, owner_id=None,
                      paid_fen=batch.price_fen if method == IssueMethod.CODE else 0, actor_type=ActorType.STAFF,
                      actor_id=actor.staff_id, source=MerchantAccount.EXTERNAL_CLEARING)
    code = new_bind_code()
    session.add(MemberCard(merchant_id=actor.merchant_id, member_id=row.id, card_id=card.id, batch_id=batch.id,
                           api_key_id=actor.api_key_id, bind_code_hash=bind_code_digest(config, code)))
    session.flush()
    audit(session, actor, "open.card.issue", "card", card.id, {"batch_id": batch.id, "member_id": row.id})
    return IssuedCard(card, row, code)


def bind_member_card(session: Session, config: Mapping[str, Any], *, code: str,
                     consumer_id: int) -> tuple[Card, Offer] | None:
    """Put the card a bind code stands for into the consumer's wallet, once; None when ``code`` is no
    bind code (it may be a redemption code). A used code is CODE_INVALID, as an unknown one is."""
    row = session.scalar(select(MemberCard).where(MemberCard.bind_code_hash == bind_code_digest(config, code)))
    if row is None:
        return None
    claimed = session.execute(
        update(MemberCard).where(MemberCard.id == row.id, MemberCard.bound_at.is_(None))
        .values(bound_at=utcnow(), bound_consumer_id=consumer_id).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise CodeInvalid()
    card = session.get_one(Card, row.card_id)
    card.owner_id = card.issued_to_id = consumer_id
    session.flush()
    record(session, action="open.card.bind", actor_type="consumer", actor_id=consumer_id,
           merchant_id=card.merchant_id, target_type="card", target_id=card.id)
    return card, find_batch(session, card.batch_id)


def merchant_card(session: Session, merchant_id: int, card_no: str) -> Card:
    """The merchant's card of that number; another merchant's card, or no card number at all, is not found."""
    if not (card_no.isascii() and card_no.isdigit() and len(card_no) <= 19):
        raise NotFound("卡不存在")
    card = session.scalar(select(Card).where(Card.card_no == card_no, Card.merchant_id == merchant_id))
    if card is None:
        raise NotFound("卡不存在")
    return card


def card_view(session: Session, links: FaceLinks, actor: KeyActor, card: Card) -> dict[str, Any]:
    """The card as staff see it, with its full number and the member it was issued to."""
    data = redemption.staff_card_view(session, links, actor.staff, card.card_no)
    member = session.scalar(select(Member).join(MemberCard, MemberCard.member_id == Member.id)
                            .where(MemberCard.card_id == card.id))
    data["card_no"] = card.card_no
    data["member"] = None if member is None else {
        "external_id": member.external_id, "name": member.name, "mobile_masked": member.mobile_masked}
    return data


def member_cards(session: Session, links: FaceLinks, actor: KeyActor, external_id: str, *, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    """The cards issued to one member, newest first."""
    stmt = (select(MemberCard.id, MemberCard.card_id).join(Member, Member.id == MemberCard.member_id)
            .where(Member.merchant_id == actor.merchant_id, Member.external_id == external_id))
    if cursor:
        stmt = stmt.where(MemberCard.id < decode_cursor(cursor))
    rows = session.execute(stmt.order_by(MemberCard.id.desc()).limit(limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    return {"items": [card_view(session, links, actor, session.get_one(Card, card_id)) for _, card_id in rows],
            "next_cursor": encode_cursor(rows[-1][0]) if more and rows else None}


def card_transactions(session: Session, actor: KeyActor, card_no: str, *, limit: int,
                      cursor: str | None) -> dict[str, Any]:
    return wallet.card_statement(session, merchant_card(session, actor.merchant_id, card_no), limit=limit,
                                    cursor=cursor)


# --- orders of the merchant's own system ---------------------------------------------------------

_Order = TypeVar("_Order", ExternalTopUp, ExternalRedemption)


def _claim_order_no(session: Session, row: _Order, result: tuple[str, str]) -> _Order:
    """Insert the order's row before anything is booked: the unique (merchant, external_order_no)
    decides. A number already booked — or being booked by a concurrent request, which we wait for —
    is 409 DUPLICATE_EXTERNAL_ORDER naming the first result (``result``: its detail's name and the
    row's attribute). A savepoint keeps the transaction usable."""
    try:
        with session.begin_nested():
            return insert_row(session, row)
    except IntegrityError:
        model = type(row)
        first = session.scalar(select(model).where(model.merchant_id == row.merchant_id,
                                                   model.external_order_no == row.external_order_no))
        if first is None:  # the other request rolled back meanwhile: nothing was booked, a retry may pass
            raise Conflict("该外部订单号正在处理，请稍后重试") from None
        detail, attribute = result
        raise DuplicateExternalOrder(details={"external_order_no": row.external_order_no,
                                              detail: getattr(first, attribute)}) from None


def top_up(session: Session, actor: KeyActor, *, card_no: str, amount_fen: int,
           external_order_no: str) -> tuple[ExternalTopUp, Card]:
    """Credit money the merchant collected itself: principal from its external clearing account, the
    tier's bonus from promotion, one journal — with the WeChat top-up's tiers, bonus and legal cap,
    checked under the card's row lock. A merchant the platform has not approved (or suspended) sells no value."""
    require_approved(get_merchant(session, actor.merchant_id))
    card = merchant_card(session, actor.merchant_id, card_no)
    row = _claim_order_no(session, ExternalTopUp(
        merchant_id=actor.merchant_id, card_id=card.id, api_key_id=actor.api_key_id,
        external_order_no=external_order_no, amount_fen=amount_fen, bonus_fen=0, created_at=utcnow()),
        ("top_up_id", "id"))
    card = lock_cards(session, [card.id])[card.id]
    bonus = top_ups.allowed_top_up(session, card, session.get_one(CardProduct, card.product_id), amount_fen)
    m = actor.merchant_id
    postings = top_up_postings(m, card.id, amount_fen, bonus, MerchantAccount.EXTERNAL_CLEARING)
    journal = post_journal(session, merchant_id=m, kind=JournalKind.TOP_UP, postings=postings, locked={card.id: card},
                           actor_type=ActorType.STAFF, actor_id=actor.staff_id, ref_type="open_top_up", ref_id=row.id,
                           idempotency_key=f"open-top-up:{row.id}", memo=f"external order {external_order_no}")
    row.bonus_fen, row.journal_id = bonus, journal.id
    session.flush()
    request_sync(session, card)  # the card's WeChat card-wallet copy, if any, is pushed after commit
    audit(session, actor, "open.top_up", "card", card.id,
          {"top_up_id": row.id, "amount_fen": amount_fen, "bonus_fen": bonus, "external_order_no": external_order_no})
    return row, card


@dataclass(frozen=True)
class OpenRedeem:
    card_no: str
    store_id: int
    amount_fen: int = 0
    uses: int = 1
    redeem_points: int = 0
    external_order_no: str | None = None


def redeem(session: Session, redis: Redis, config: Mapping[str, Any], actor: KeyActor,
           request: OpenRedeem) -> dict[str, Any]:
    """The cashier's redemption, at one of the merchant's stores, for the card the merchant names;
    the receipt with the order number."""
    row = _claim_order_no(session, ExternalRedemption(
        merchant_id=actor.merchant_id, api_key_id=actor.api_key_id, external_order_no=request.external_order_no,
        created_at=utcnow()), ("redemption_id", "redemption_id"))
    receipt = redemption.redeem(session, redis, config, actor.staff, redemption.RedeemRequest(
        code="", store_id=request.store_id, amount_fen=request.amount_fen, uses=request.uses,
        redeem_points=request.redeem_points, card_no=request.card_no))
    row.redemption_id = receipt["redemption_id"]
    session.flush()
    return {**receipt, "external_order_no": request.external_order_no}


def reverse(session: Session, actor: KeyActor, redemption_id: int, reason: str, window_hours: int) -> Redemption:
    """The cashier's reversal of one of the merchant's redemptions."""
    return redemption.reverse(session, actor.staff, redemption_id, reason, window_hours)


def member_card_ids(session: Session, merchant_id: int, query: str) -> list[int]:
    """Cards issued to the merchant's members whose external id is ``query``, or whose phone is it —
    masked as staff see it (138****1234), or its last 4+ digits. The member page's search uses it."""
    match = Member.external_id == query
    if query.isdigit() and len(query) >= 4:
        match = match | Member.mobile_masked.like(f"%{query}")
    elif "*" in query:
        match = match | (Member.mobile_masked == query)
    return list(session.scalars(
        select(MemberCard.card_id).join(Member, Member.id == MemberCard.member_id)
        .where(Member.merchant_id == merchant_id, match).limit(SEARCH_LIMIT)
    ))


MEMBER_LOOKUPS.append(member_card_ids)  # the console's member search finds open members' cards too
