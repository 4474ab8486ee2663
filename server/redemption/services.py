"""Cashier redemption (核销) and its reversal (冲正).

A redemption resolves the presented code to a card, checks store, status, validity and minimum
spend, computes the outcome for the card's kind (server/redemption/rules.py), and books it as one
ledger journal under the card's row lock — all in the request's one transaction.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.services import record
from server.auth import Principal
from server.cards.dynamic_codes import resolve_code
from server.cards.events import record_card_event
from server.cards.face_links import FaceLinks
from server.cards.models import Card, CardStatus
from server.cards.serializers import mask_card_no, mask_holder, staff_card
from server.consumers.models import Consumer
from server.crypto import decrypt
from server.db import INT32_MAX, utcnow
from server.direct_writes import insert_row, reserve_ids
from server.errors import (
    AlreadyReversed,
    AppError,
    CardExpired,
    CardNotActive,
    CodeInvalid,
    Forbidden,
    NotFound,
    ReversalWindowClosed,
    StoreNotAllowed,
    ValidationError,
)
from server.issuance.models import Batch
from server.ledger.accounts import CardBalances, CardBucket, MerchantAccount
from server.ledger.models import ActorType, Journal, JournalKind
from server.ledger.services import (
    Posting,
    balances_after,
    card_lock_row,
    card_to_merchant,
    lock_card_row,
    post_journal,
    reverse_journal,
)
from server.merchants.models import Merchant, Store
from server.merchants.services import require_approved
from server.notifications.services import TemplateKey, amount_text, queue_message, thing_text, time_text
from server.products.models import CardProduct
from server.ratelimit import FailureLimit
from server.redemption import rules
from server.redemption.models import REDEMPTION_LIFECYCLE, Redemption, RedemptionStatus
from server.timeutil import iso
from server.webhooks.events import endpoints_exist

#: Wrong codes typed or scanned by one staff member: 20 per 10 minutes, then 429.
CODE_FAILURES = FailureLimit("redeem-code", limit=20, window_seconds=600)


@dataclass(frozen=True)
class RedeemRequest:
    code: str
    store_id: int
    amount_fen: int = 0
    uses: int = 1
    redeem_points: int = 0
    #: A card number the caller vouches for instead of a code: the open API, where the merchant's own
    #: system names its member's card. No code or secret is checked; an unknown number is 404.
    card_no: str | None = None


# The statements of every scan, built once: building one costs more than running it.
def _presented(base: Select) -> Select:
    """A card of the merchant with its product and its batch's regions."""
    return (base.join(CardProduct, CardProduct.id == Card.product_id)
            .outerjoin(Batch, Batch.id == Card.batch_id)
            .where(Card.merchant_id == bindparam("merchant_id")))


#: Everything a redemption reads, in one statement: the card a code names, locked, with its product
#: and its batch's regions; the store (of the card's merchant) and that merchant; whether the merchant
#: has webhook endpoints at all; and the ids its journal and redemption rows will take. (The card is
#: read in the session's mode; its batch is its own, of either mode.)
_REDEMPTION_ROW, _REDEMPTION_LOCK = card_lock_row(
    CardProduct, Batch.region_codes, Store, Merchant, endpoints_exist(Card.merchant_id).label("has_endpoints"),
    *reserve_ids(Journal.__table__, Redemption.__table__))
_REDEMPTION_READ = (
    _presented(_REDEMPTION_LOCK)
    .join(Store, and_(Store.id == bindparam("store_id"), Store.merchant_id == Card.merchant_id))
    .join(Merchant, Merchant.id == Store.merchant_id)
)
_CARD_BY_ID = _REDEMPTION_READ.where(Card.id == bindparam("card_id"))
_CARD_BY_NUMBER = _REDEMPTION_READ.where(Card.card_no == bindparam("card_no"))
#: The same look-ups without the lock, for the counter's preview of a scanned code.
_PREVIEW_CARD = _presented(select(Card, CardProduct, Batch.region_codes))
_PREVIEW_BY_ID = _PREVIEW_CARD.where(Card.id == bindparam("card_id"))
_PREVIEW_BY_NUMBER = _PREVIEW_CARD.where(Card.card_no == bindparam("card_no"))
_STORE_AND_MERCHANT = (
    select(Store, Merchant).join(Merchant, Merchant.id == Store.merchant_id)
    .where(Store.id == bindparam("store_id"), Store.merchant_id == bindparam("merchant_id"))
)


@dataclass(frozen=True)
class PresentedCard:
    """The card a code names, with what its rules need."""

    card: Card
    product: CardProduct
    #: The regions its batch was issued for (empty: everywhere).
    region_codes: list[str]
    #: Digest of the dynamic code presented (None for CARDNO:SECRET), to make the code single-use.
    digest: str | None


@dataclass(frozen=True)
class LockedForRedemption(PresentedCard):
    """A presented card locked for its redemption, with the rest of what the redemption read."""

    store: Store
    #: False: no webhook endpoint at all, so no event is looked up.
    has_endpoints: bool
    #: Ids reserved for the journal and the redemption (None where the database has no sequences).
    journal_id: int | None
    redemption_id: int | None


def _code_failed(redis: Redis, actor: Principal) -> CodeInvalid:
    CODE_FAILURES.record_failure(redis, str(actor.id))
    return CodeInvalid()


def _secret_matches(config: Mapping[str, Any], card: Card, secret: str) -> bool:
    """The printed secret, compared in constant time."""
    return hmac.compare_digest(decrypt(config, card.secret_encrypted), secret.strip())


def _find_presented_card(session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal,
                         code: str) -> PresentedCard:
    """The card the code names, unlocked (the preview) — or CODE_INVALID, the same for unknown, expired
    and other merchants' codes and for a wrong secret. Looking a code up never uses it up: only a
    redemption stores its digest."""
    CODE_FAILURES.check(redis, str(actor.id))
    resolved = resolve_code(redis, code)
    card_no, _, secret = code.partition(":")  # CARDNO:SECRET — the printed credentials
    if resolved is not None:
        row = session.execute(_PREVIEW_BY_ID, {"merchant_id": actor.merchant_id, "card_id": resolved.card_id}).first()
    elif secret:
        row = session.execute(_PREVIEW_BY_NUMBER, {"merchant_id": actor.merchant_id,
                                                   "card_no": card_no.strip()}).first()
    else:
        row = None
    if row is not None and resolved is None and not _secret_matches(config, row[0], secret):
        row = None
    if row is not None and resolved is not None and session.scalar(
            select(Redemption.id).where(Redemption.code_digest == resolved.digest)) is not None:
        row = None  # a code that already paid: the redemption would refuse it, so does the preview
    if row is None:
        raise _code_failed(redis, actor)
    card, product, region_codes = row
    return PresentedCard(card, product, region_codes or [], resolved.digest if resolved else None)


def _lock_for_redemption(session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal,
                         request: RedeemRequest) -> LockedForRedemption:
    """The card the request names, locked, with its store — one statement. The store's refusals come
    first (a missing row is told apart by looking the store up alone); then CODE_INVALID as for the
    preview, or, for a card number the open API vouches for, not found."""
    params = {"merchant_id": actor.merchant_id, "store_id": request.store_id}
    resolved = None
    if request.card_no is not None:
        row = lock_card_row(session, _REDEMPTION_ROW, _CARD_BY_NUMBER, {**params, "card_no": request.card_no})
    else:
        CODE_FAILURES.check(redis, str(actor.id))
        resolved = resolve_code(redis, request.code)
        card_no, _, secret = request.code.partition(":")  # CARDNO:SECRET — the printed credentials
        if resolved is not None:
            row = lock_card_row(session, _REDEMPTION_ROW, _CARD_BY_ID, {**params, "card_id": resolved.card_id})
        elif secret:
            row = lock_card_row(session, _REDEMPTION_ROW, _CARD_BY_NUMBER, {**params, "card_no": card_no.strip()})
        else:
            row = None
    if row is None:
        _check_store(session, actor, request.store_id)
    else:
        _store_allows(actor, row[3], row[4], request.store_id)
    if request.card_no is not None:
        if row is None:
            raise NotFound("卡不存在")
    elif row is None or (resolved is None and not _secret_matches(config, row[0], secret)):
        raise _code_failed(redis, actor)
    card, product, region_codes, store, _, has_endpoints, journal_id, redemption_id = row
    return LockedForRedemption(card, product, region_codes or [], resolved.digest if resolved else None,
                               store, bool(has_endpoints), journal_id, redemption_id)


def preview(session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal,
            code: str, store_id: int) -> dict[str, Any]:
    """What the counter shows after a scan and before the cashier confirms: the card (holder masked),
    its kind and balances, and why it would be refused at this store, if it would. Read-only: the
    code stays live for the redemption that follows; wrong codes count against the same limit."""
    store = _check_store(session, actor, store_id)
    presented = _find_presented_card(session, redis, config, actor, code)
    card, product = presented.card, presented.product
    owner = session.get(Consumer, card.owner_id) if card.owner_id else None
    problem = None
    try:
        _check_card(presented, store, utcnow())
    except AppError as refusal:
        problem = {"code": refusal.code, "message": refusal.message}
    return {
        "card_id": card.id,
        "card_no_masked": mask_card_no(card.card_no),
        "kind": product.kind,
        "product_name": product.name,
        "named": product.named,
        "holder_masked": mask_holder(owner.openid) if owner else None,
        "status": card.status,
        "balance_fen": card.balance_fen,
        "principal_fen": card.principal_fen,
        "bonus_fen": card.bonus_fen,
        "remaining_uses": card.uses_remaining,
        "service_name": product.service_name,
        "points_balance": card.points,
        "discount_percent": rules.discount_percent_for(product.discount_percent, product.regional_discounts,
                                                       store.region_code),
        "min_spend_fen": product.min_spend_fen,
        "expires_at": iso(card.expires_at),
        "needs_amount": product.kind != "count",
        "problem": problem,
    }


def _check_store(session: Session, actor: Principal, store_id: int) -> Store:
    """The caller's store, of an approved merchant, where the caller may act (one query for both rows)."""
    row = session.execute(_STORE_AND_MERCHANT, {"store_id": store_id, "merchant_id": actor.merchant_id}).first()
    if row is None:
        raise NotFound("门店不存在")
    return _store_allows(actor, *row, store_id)


def _store_allows(actor: Principal, store: Store, merchant: Merchant, store_id: int) -> Store:
    """The store's merchant is approved, the caller may act at the store, and it is open."""
    require_approved(merchant)
    if actor.store_id is not None and actor.store_id != store_id:
        raise Forbidden("只能在本门店核销")
    if not store.active:
        raise Forbidden("门店已停用")
    return store


def _check_card(presented: PresentedCard, store: Store, now: datetime) -> None:
    """The card is live and works at this store: the product's store scope, its batch's regions."""
    card, product = presented.card, presented.product
    if card.status == CardStatus.EXPIRED or (card.expires_at is not None and card.expires_at <= now):
        raise CardExpired()
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive(details={"status": card.status})
    if product.store_scope != "all" and store.id not in product.store_scope:
        raise StoreNotAllowed()
    if not rules.usable_in(presented.region_codes, store.region_code):
        raise StoreNotAllowed("该卡仅限发行地区的门店使用", details={"region_codes": presented.region_codes})


def redemption_postings(card_id: int, merchant_id: int, outcome: rules.Outcome) -> list[Posting]:
    """Value leaves the card for revenue; points and uses return to their merchant accounts."""
    legs: list[tuple[CardBucket, MerchantAccount, int]] = [
        (CardBucket.PRINCIPAL, MerchantAccount.REVENUE, outcome.principal_fen),
        (CardBucket.BONUS, MerchantAccount.REVENUE, outcome.bonus_fen),
        (CardBucket.USES, MerchantAccount.USES_REDEEMED, outcome.uses),
        (CardBucket.POINTS, MerchantAccount.POINTS_REDEEMED, outcome.points_redeemed),
        (CardBucket.POINTS, MerchantAccount.POINTS_ISSUANCE, -outcome.points_earned),
    ]
    return card_to_merchant(card_id, merchant_id, legs)


def redeem(session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal,
           request: RedeemRequest) -> dict[str, Any]:
    """Redeem at a store and return the receipt of docs/api.md."""
    presented = _lock_for_redemption(session, redis, config, actor, request)
    card, product, digest, store = presented.card, presented.product, presented.digest, presented.store
    now = utcnow()
    _check_card(presented, store, now)
    outcome = rules.compute(
        kind=product.kind,
        balances=CardBalances(card.principal_fen, card.bonus_fen, card.points, card.uses_remaining),
        bill_fen=request.amount_fen,
        uses=request.uses,
        redeem_points=request.redeem_points,
        discount_percent=rules.discount_percent_for(product.discount_percent, product.regional_discounts,
                                                    store.region_code),
        deduction_order=product.deduction_order,
        min_spend_fen=product.min_spend_fen,
        points_rule=product.points_rule,
    )
    if card.points - outcome.points_redeemed + outcome.points_earned > INT32_MAX:  # the INTEGER column
        raise ValidationError({"amount_fen": "本次消费所得积分将超出卡可保存的积分上限"})
    postings = redemption_postings(card.id, card.merchant_id, outcome)
    journal = None  # a plain discount moves no value: the redemption is recorded without a journal
    if postings:
        journal = post_journal(session, merchant_id=card.merchant_id, kind=JournalKind.REDEEM, postings=postings,
                               actor_type=ActorType.STAFF, actor_id=actor.id, store_id=store.id,
                               ref_type="redemption", locked={card.id: card},  # the redemption points back
                               journal_id=presented.journal_id, defer=True)
    # Deferred to the COMMIT's round trip, with the card's update and the journal — but a dynamic
    # code's redemption is sent at once, so that a code already used is refused here.
    defer = digest is None and presented.redemption_id is not None
    try:
        redemption = insert_row(session, Redemption(
            id=presented.redemption_id, merchant_id=card.merchant_id, store_id=store.id, card_id=card.id,
            staff_id=actor.id,
            code_digest=digest, journal_id=journal.id if journal else None, bill_fen=outcome.bill_fen,
            payable_fen=outcome.payable_fen, deducted_fen=outcome.deducted_fen,
            deducted_principal_fen=outcome.principal_fen, deducted_bonus_fen=outcome.bonus_fen,
            uses_deducted=outcome.uses, points_earned=outcome.points_earned,
            points_redeemed=outcome.points_redeemed, created_at=now,
        ), defer=defer)
    except IntegrityError:  # the same dynamic code already paid for another redemption
        raise CodeInvalid() from None
    record(session, action="redemption.create", actor_type="staff", actor_id=actor.id,
           merchant_id=card.merchant_id, target_type="redemption", target_id=redemption.id,
           detail={"store_id": store.id, "card_id": card.id, "payable_fen": outcome.payable_fen,
                   "deducted_fen": outcome.deducted_fen, "uses": outcome.uses}, defer=True)
    if card.owner_id is not None:
        queue_message(session, merchant_id=card.merchant_id, consumer_id=card.owner_id,
                      template_key=TemplateKey.REDEMPTION,
                      payload={"store": thing_text(store.name), "amount": amount_text(outcome.payable_fen),
                               "balance": amount_text(card.balance_fen), "time": time_text(now)})
    result = receipt(redemption, card, product)
    record_card_event(session, card, "card.redeemed", receipt=result,
                      merchant_has_endpoints=presented.has_endpoints)
    return result


def receipt(redemption: Redemption, card: Card, product: CardProduct) -> dict[str, Any]:
    return {
        "redemption_id": redemption.id,
        "card_id": card.id,
        "card_no_masked": mask_card_no(card.card_no),
        "kind": product.kind,
        "store_id": redemption.store_id,
        "bill_fen": redemption.bill_fen,
        "payable_fen": redemption.payable_fen,
        "deducted_fen": redemption.deducted_fen,
        "deducted_principal_fen": redemption.deducted_principal_fen,
        "deducted_bonus_fen": redemption.deducted_bonus_fen,
        "uses_deducted": redemption.uses_deducted,
        "points_earned": redemption.points_earned,
        "points_redeemed": redemption.points_redeemed,
        "balance_fen": card.balance_fen,
        "principal_fen": card.principal_fen,
        "bonus_fen": card.bonus_fen,
        "remaining_uses": card.uses_remaining,
        "points_balance": card.points,
        "status": redemption.status,
        "created_at": iso(redemption.created_at),
    }


def _own_redemption(session: Session, actor: Principal, redemption_id: int, *, lock: bool) -> Redemption:
    stmt = select(Redemption).where(Redemption.id == redemption_id)
    redemption = session.scalar(stmt.with_for_update() if lock else stmt)
    if redemption is None or redemption.merchant_id != actor.merchant_id:
        raise NotFound("核销记录不存在")
    if actor.store_id is not None and actor.store_id != redemption.store_id:
        raise Forbidden("只能处理本门店的核销")
    return redemption


def reverse(session: Session, actor: Principal, redemption_id: int, reason: str,
            window_hours: int) -> Redemption:
    """Undo a redemption with a compensating journal that restores exactly what it took."""
    redemption = _own_redemption(session, actor, redemption_id, lock=True)
    if redemption.status == RedemptionStatus.REVERSED:
        raise AlreadyReversed()
    now = utcnow()
    if now - redemption.created_at > timedelta(hours=window_hours):
        raise ReversalWindowClosed(details={"window_hours": window_hours})
    if redemption.journal_id is not None:
        journal = session.get(Journal, redemption.journal_id)
        reversal = reverse_journal(session, journal, actor_type=ActorType.STAFF, actor_id=actor.id,
                                   store_id=redemption.store_id, memo=reason[:200])
        redemption.reversal_journal_id = reversal.id
    REDEMPTION_LIFECYCLE.apply(redemption, "reverse")
    redemption.reversed_by = actor.id
    redemption.reversed_at = now
    redemption.reversal_reason = reason
    session.flush()
    record(session, action="redemption.reverse", actor_type="staff", actor_id=actor.id,
           merchant_id=redemption.merchant_id, target_type="redemption", target_id=redemption.id,
           detail={"reason": reason, "card_id": redemption.card_id})
    card = session.get_one(Card, redemption.card_id)
    record_card_event(session, card, "redemption.reversed", receipt=receipt(
        redemption, card, session.get_one(CardProduct, card.product_id)))
    return redemption


def redemptions_query(
    actor: Principal, *, store_id: int | None = None, staff_id: int | None = None, status: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> Select:
    """Redemptions of the caller's merchant; store-bound staff see only their store."""
    stmt = select(Redemption).where(Redemption.merchant_id == actor.merchant_id)
    if actor.store_id is not None:
        stmt = stmt.where(Redemption.store_id == actor.store_id)
    if store_id is not None:
        stmt = stmt.where(Redemption.store_id == store_id)
    if staff_id is not None:
        stmt = stmt.where(Redemption.staff_id == staff_id)
    if status is not None:
        stmt = stmt.where(Redemption.status == status)
    if since is not None:
        stmt = stmt.where(Redemption.created_at >= since)
    if until is not None:
        stmt = stmt.where(Redemption.created_at < until)
    return stmt


def reversal_answer(session: Session, redemption: Redemption) -> dict[str, Any]:
    """What a reversal answers, for the API and the console alike: the redemption and the card after it."""
    row = redemption_row(session, redemption)
    return {"reversal_id": redemption.reversal_journal_id or redemption.id, "redemption": row,
            "card": {key: row[key] for key in ("card_id", "card_no_masked", "balance_fen", "principal_fen",
                                               "bonus_fen", "remaining_uses", "points_balance")}}


def redemption_row(session: Session, redemption: Redemption) -> dict[str, Any]:
    """A redemption as the list shows it: its card's current balances, and what the card held right
    after this redemption (``*_after``, from the ledger's balance_after; None when it moved no value)."""
    card = session.get(Card, redemption.card_id)
    product = session.get(CardProduct, card.product_id)
    after = balances_after(session, card.id, redemption.journal_id) if redemption.journal_id else None
    return {**receipt(redemption, card, product), "staff_id": redemption.staff_id,
            "reversed_at": iso(redemption.reversed_at), "reversal_reason": redemption.reversal_reason,
            "balance_after_fen": after.principal_fen + after.bonus_fen if after else None,
            "remaining_uses_after": after.uses_remaining if after else None,
            "points_balance_after": after.points if after else None}


def staff_card_view(session: Session, links: FaceLinks, actor: Principal, card_no: str) -> dict[str, Any]:
    """A card as staff see it: balances and status, the holder masked; other merchants' cards don't exist."""
    card = session.scalar(select(Card).where(Card.card_no == card_no))
    if card is None or card.merchant_id != actor.merchant_id:
        raise NotFound("卡不存在")
    return staff_card(session, links, card)
