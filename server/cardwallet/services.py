"""Card-wallet sync: what the business transaction records, and what the jobs do after commit.

- ``request_member_card`` (publishing an opted-in product) and ``request_sync`` (every value change
  of a card, from ``record_card_event``) only write rows in the caller's transaction and flush; the
  caller commits. A WeChat outage can therefore never fail or slow down a top-up or a redemption.
- The jobs' side (claim, call WeChat after commit, record, retry) is ``server/cardwallet/sync.py``.

Test-mode cards are never synced: nothing of test mode reaches WeChat (``is_test``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.cards.models import Card
from server.cardwallet.models import LinkStatus, MemberCardStatus, WeChatCardLink, WeChatMemberCard
from server.db import utcnow
from server.errors import BusinessRuleError, NotFound
from server.modes import Mode
from server.products.models import CardProduct
from server.wechat.card_wallet import CardWalletError, card_api_ticket, card_ext
from server.wechat.client import KabaoWeChatClient
from server.wechat.errors import WeChatUpstreamError

logger = logging.getLogger(__name__)

#: session.info flag: this transaction made a sync due (the dispatcher is queued after its commit).
SYNC_DUE = "kabao_card_wallet_due"
#: Digits of a card's custom code in WeChat.
CODE_DIGITS = 16


class WeChatCardUnavailable(BusinessRuleError):
    code = "WECHAT_CARD_UNAVAILABLE"
    message = "该卡暂不支持添加到微信卡包"


def is_test(card: Card) -> bool:
    return card.mode == Mode.TEST


def sync_enabled(product: CardProduct | None) -> bool:
    return bool(product is not None and (product.wechat_card or {}).get("enabled"))


def new_claim_token() -> str:
    return secrets.token_hex(16)


def unclaimed(model: Any, now: datetime):
    return or_(model.locked_until.is_(None), model.locked_until < now)


def error_text(exc: CardWalletError) -> str:
    return f"errcode={exc.errcode} errmsg={exc.errmsg}"[:200]


# --- in the business transaction ----------------------------------------------------------------


def request_member_card(session: Session, product: CardProduct) -> WeChatMemberCard | None:
    """Publishing a product that opted in: its WeChat member card is to be created (once)."""
    if not sync_enabled(product):
        return None
    existing = session.scalar(select(WeChatMemberCard).where(WeChatMemberCard.product_id == product.id))
    if existing is not None:
        return existing
    row = WeChatMemberCard(merchant_id=product.merchant_id, product_id=product.id,
                           status=MemberCardStatus.PENDING, next_attempt_at=utcnow())
    session.add(row)
    session.flush()
    session.info[SYNC_DUE] = True
    return row


def request_sync(session: Session, card: Card) -> None:
    """A value of ``card`` changed: push it to WeChat after commit, if the card is in a wallet.

    Costs nothing for products that did not opt in (the product is already in the session)."""
    if is_test(card) or not sync_enabled(session.get(CardProduct, card.product_id)):
        return
    bumped = session.execute(
        update(WeChatCardLink)
        .where(WeChatCardLink.card_id == card.id,
               WeChatCardLink.status.in_((LinkStatus.ADDED, LinkStatus.ACTIVATED)))
        .values(change_seq=WeChatCardLink.change_seq + 1, next_attempt_at=utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    if bumped:
        session.info[SYNC_DUE] = True


# --- the consumer's side (views) ----------------------------------------------------------------


def _own_card(session: Session, consumer_id: int, card_id: int) -> Card:
    card = session.get(Card, card_id)
    if card is None or card.owner_id != consumer_id:
        raise NotFound("卡不存在")
    return card


def _member_card_of(session: Session, card: Card) -> WeChatMemberCard:
    member_card = session.scalar(select(WeChatMemberCard).where(WeChatMemberCard.product_id == card.product_id))
    if (is_test(card) or not sync_enabled(session.get(CardProduct, card.product_id)) or member_card is None
            or member_card.status != MemberCardStatus.CREATED):
        raise WeChatCardUnavailable()
    return member_card


def _new_code() -> str:
    return str(secrets.randbelow(9 * 10 ** (CODE_DIGITS - 1)) + 10 ** (CODE_DIGITS - 1))


def _link_for(session: Session, card: Card, member_card: WeChatMemberCard) -> WeChatCardLink:
    link = session.scalar(select(WeChatCardLink).where(WeChatCardLink.card_id == card.id))
    if link is not None and link.status == LinkStatus.REVOKED and link.consumer_id != card.owner_id:
        # The card changed hands: the new holder gets a new code (the old one stays frozen in WeChat).
        link.consumer_id, link.code, link.status = card.owner_id, _new_code(), LinkStatus.ISSUED
        link.synced_balance_fen = link.synced_bonus_fen = link.synced_points = None
        link.activated_at = link.next_attempt_at = None
        session.flush()
    if link is not None:
        return link
    for _ in range(3):
        try:
            with session.begin_nested():
                link = WeChatCardLink(merchant_id=card.merchant_id, card_id=card.id, consumer_id=card.owner_id,
                                      wx_card_id=member_card.wx_card_id, code=_new_code(), status=LinkStatus.ISSUED)
                session.add(link)
            return link
        except IntegrityError:  # a concurrent first request for this card, or (never in practice) a code clash
            link = session.scalar(select(WeChatCardLink).where(WeChatCardLink.card_id == card.id))
            if link is not None:
                return link
    raise RuntimeError("could not allocate a card-wallet code")


def add_card_params(session: Session, client: KabaoWeChatClient | None, *, consumer_id: int,
                    card_id: int) -> dict[str, Any]:
    """What ``wx.addCard`` needs for the consumer's card: ``{cardId, cardExt}`` (cardExt signed with
    the Official Account's card api_ticket). 422 WECHAT_CARD_UNAVAILABLE when the card cannot go into
    the wallet (sync off, product not opted in, member card not created yet, test card)."""
    card = _own_card(session, consumer_id, card_id)
    if client is None:
        raise WeChatCardUnavailable()
    member_card = _member_card_of(session, card)
    link = _link_for(session, card, member_card)
    try:
        ticket = card_api_ticket(client)
    except CardWalletError as exc:
        logger.error("card wallet: api_ticket failed: %s", error_text(exc))
        raise WeChatUpstreamError(errcode=exc.errcode) from None
    return {"cardId": link.wx_card_id, "cardExt": card_ext(ticket, card_id=link.wx_card_id, code=link.code),
            "status": link.status}


def mark_added(session: Session, *, consumer_id: int, card_id: int) -> WeChatCardLink:
    """The mini-program's wx.addCard succeeded: activation (with the card's values) is due."""
    card = _own_card(session, consumer_id, card_id)
    link = session.scalar(select(WeChatCardLink).where(WeChatCardLink.card_id == card.id))
    if link is None or link.consumer_id != consumer_id or link.status == LinkStatus.REVOKED:
        raise WeChatCardUnavailable()
    if link.status == LinkStatus.ISSUED:
        link.status, link.next_attempt_at, link.attempts = LinkStatus.ADDED, utcnow(), 0
        session.flush()
        session.info[SYNC_DUE] = True
    return link


