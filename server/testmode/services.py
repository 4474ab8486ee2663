"""Test mode's own actions (API.md "Test mode"): staff acting for the merchant's test consumer (buy a
card, top it up, show its code), a product's test run (上线前测试), and wiping the test books.

Everything here runs on a session the boundary has put in test mode (``use_mode``) and refuses a
live one, so none of it can touch the live books. Money moves through the live code — purchase,
top-up, redemption, reversal, refund — with the test payment provider in place of WeChat Pay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.auth import Principal, PrincipalKind
from server.cards.dynamic_codes import DynamicCode, issue_code
from server.cards.models import Card, Transfer
from server.consumers.models import Consumer
from server.db import utcnow
from server.errors import AppError, Conflict, NotFound, NotRefundable
from server.idempotency import IdempotencyRecord
from server.issuance.models import Batch, BatchStatus, Channel, ChannelKind, IssueMethod
from server.issuance.services import claim, get_batch
from server.ledger.models import Journal, LedgerEntry
from server.merchants.models import Store
from server.modes import Mode, session_mode
from server.money import yuan
from server.open.models import ApiKey, ExternalRedemption, ExternalTopUp, MemberCard
from server.payments.card_refunds import refund_card
from server.payments.models import PaymentOrder, Refund, RefundAllocation
from server.payments.purchases import start_purchase
from server.payments.test_provider import TestPaymentGateway, pay_at_once, refund_at_once
from server.payments.top_ups import start_top_up
from server.products.models import CardKind, CardProduct, ProductStatus
from server.products.services import get_product
from server.redemption.models import Redemption
from server.redemption.services import RedeemRequest, redeem, reverse
from server.reports.models import LedgerDay, LedgerDayTotal
from server.rewards.models import RewardExchange
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

#: The test consumer's openid: WeChat's openids never contain a colon, so no real user can be it.
TEST_OPENID = "kabao:test-consumer:{merchant_id}"
#: Cards a product's own test batch may issue (each test run takes one).
TEST_BATCH_QUANTITY = 100_000
#: Test-mode rows of the books, children before parents: what wiping the test data deletes.
TEST_BOOKS = (LedgerEntry, ExternalRedemption, ExternalTopUp, MemberCard, RewardExchange, RefundAllocation, Refund,
              Redemption, Transfer, PaymentOrder, LedgerDayTotal, LedgerDay)
STEP_NAMES = {"purchase": "购卡", "top_up": "充值", "redeem": "核销", "reverse": "冲正", "refund": "退款"}
REFUND_STATES = {"pending": "处理中", "succeeded": "已退款", "failed": "失败"}


def _require_test_mode(session: Session) -> None:
    if session_mode(session) != Mode.TEST:
        raise Conflict("此操作仅在测试模式下可用")


def test_consumer(session: Session, merchant_id: int) -> Consumer:
    """The merchant's test consumer, for whom staff buy and hold test cards."""
    openid = TEST_OPENID.format(merchant_id=merchant_id)
    consumer = session.scalar(select(Consumer).where(Consumer.openid == openid))
    if consumer is None:
        consumer = Consumer(openid=openid)
        session.add(consumer)
        session.flush()
    return consumer


def test_cards(session: Session, merchant_id: int) -> list[Card]:
    """The test consumer's cards, newest first (none before the first test purchase)."""
    _require_test_mode(session)
    owner = select(Consumer.id).where(Consumer.openid == TEST_OPENID.format(merchant_id=merchant_id))
    return list(session.scalars(select(Card).where(Card.merchant_id == merchant_id, Card.owner_id.in_(owner))
                                .order_by(Card.id.desc())))


def test_card(session: Session, merchant_id: int, card_id: int) -> Card:
    card = session.get(Card, card_id)
    if card is None or card.merchant_id != merchant_id:
        raise NotFound("测试卡不存在")
    return card


def buy(session: Session, config: Mapping[str, Any], actor: Principal, batch_id: int) -> Card:
    """A card of the batch for the test consumer: claimed if free, else paid at once by the test
    payment provider."""
    _require_test_mode(session)
    batch = get_batch(session, actor.merchant_id, batch_id)
    consumer = test_consumer(session, actor.merchant_id)
    if batch.issue_method == IssueMethod.CLAIM:
        return claim(session, config, batch_id=batch.id, consumer_id=consumer.id)[0]
    gateway = TestPaymentGateway(session)
    order, _ = start_purchase(session, gateway, consumer=consumer, batch_id=batch_id, client_ip="127.0.0.1",
                              idempotency_key=None)
    order = pay_at_once(session, gateway, config, order)
    if order.card_id is None:
        raise Conflict("测试购卡未能发卡")
    return session.get_one(Card, order.card_id)


def top_up(session: Session, config: Mapping[str, Any], actor: Principal, card_id: int,
           amount_fen: int) -> PaymentOrder:
    """Top up a test card (tiers, bonus and legal caps as live), paid at once."""
    _require_test_mode(session)
    card = test_card(session, actor.merchant_id, card_id)
    gateway = TestPaymentGateway(session)
    order, _ = start_top_up(session, gateway, consumer_id=card.owner_id, card_id=card.id, amount_fen=amount_fen,
                            client_ip="127.0.0.1", idempotency_key=None)
    return pay_at_once(session, gateway, config, order)


def show_code(session: Session, redis: Redis, actor: Principal, card_id: int) -> DynamicCode:
    """The test card's dynamic code, as the test consumer's mini-program would show it."""
    _require_test_mode(session)
    return issue_code(redis, test_card(session, actor.merchant_id, card_id).id)


def refund(session: Session, actor: Principal, card_id: int, reason: str) -> Refund:
    """Refund a test card under its product's rules, paid back at once."""
    _require_test_mode(session)
    card = test_card(session, actor.merchant_id, card_id)
    gateway = TestPaymentGateway(session)
    return refund_at_once(session, gateway, refund_card(session, gateway, consumer_id=card.owner_id,
                                                        card_id=card.id, reason=reason, now=utcnow()))


# --- the test run (上线前测试) ---------------------------------------------------------------------


@dataclass
class Step:
    step: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "ok": self.ok, "detail": self.detail}


def _test_batch(session: Session, actor: Principal, product: CardProduct) -> Batch:
    """The product's own test batch, active at once (no approvals) and seen only in test mode."""
    batch = session.scalar(select(Batch).where(Batch.product_id == product.id, Batch.mode == Mode.TEST))
    if batch is not None:
        return batch
    channel = session.scalar(select(Channel).where(Channel.merchant_id == actor.merchant_id).order_by(Channel.id))
    if channel is None:
        channel = Channel(merchant_id=actor.merchant_id, name="上线前测试", kind=ChannelKind.OFFLINE)
        session.add(channel)
        session.flush()
    batch = Batch(merchant_id=actor.merchant_id, product_id=product.id, channel_id=channel.id,
                  name=f"{product.name}（上线前测试）", quantity=TEST_BATCH_QUANTITY, price_fen=product.face_value_fen,
                  issue_method=IssueMethod.PURCHASE if product.face_value_fen else IssueMethod.CLAIM,
                  status=BatchStatus.ACTIVE, created_by=actor.id)
    session.add(batch)
    session.flush()
    return batch


def _bonus_tier(product: CardProduct) -> dict[str, Any] | None:
    tiers = (product.top_up or {}).get("tiers") or []
    return max(tiers, key=lambda t: (t.get("bonus_fen") or 0, -t["amount_fen"]), default=None)


def _bill_fen(product: CardProduct, card: Card) -> int:
    """A bill the card can pay: the usage threshold, at least one yuan, within a stored-value balance."""
    bill = max(product.min_spend_fen, 100)
    return min(bill, card.balance_fen) if product.kind == CardKind.STORED_VALUE else bill


class _Run:
    """One test run: each step in a savepoint of its own, so a failing step leaves the others' work."""

    def __init__(self, session: Session) -> None:
        self.session, self.steps = session, []

    def step(self, name: str, action: Callable[[], str]) -> bool:
        try:
            with self.session.begin_nested():
                detail = action()
        except AppError as error:
            self.steps.append(Step(name, False, f"{STEP_NAMES[name]}失败：{error.message}"))
            return False
        self.steps.append(Step(name, True, detail))
        return True

    def skip(self, name: str, why: str) -> None:
        self.steps.append(Step(name, True, f"{STEP_NAMES[name]}：{why}"))


def run_test(session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal,
             product_id: int) -> dict[str, Any]:
    """Run purchase, top-up (with a bonus tier), redeem, reversal and refund for an approved product,
    in test mode, and remember the result on the product (``test_run_passed_at`` when all passed)."""
    _require_test_mode(session)
    product = get_product(session, actor.merchant_id, product_id)
    if product.status not in (ProductStatus.APPROVED, ProductStatus.PUBLISHED):
        raise Conflict("卡种审核通过后才能进行上线前测试")
    batch = _test_batch(session, actor, product)
    run, held = _Run(session), {}

    def purchase() -> str:
        card = held["card"] = buy(session, config, actor, batch.id)
        how = f"支付 ¥{yuan(batch.price_fen)} 购得" if batch.price_fen else "免费领取"
        return (f"测试用户{how}卡号 {card.card_no}，本金 ¥{yuan(card.principal_fen)}、"
                f"赠送 ¥{yuan(card.bonus_fen)}、次数 {card.uses_remaining}")

    if not run.step("purchase", purchase):
        return _finish(session, product, run)
    card = held["card"]

    tier = _bonus_tier(product)
    if product.kind != CardKind.STORED_VALUE or not (product.top_up or {}).get("enabled") or tier is None:
        run.skip("top_up", "该卡种不支持充值，已跳过")
    else:
        def top_up_step() -> str:
            before = card.bonus_fen
            order = top_up(session, config, actor, card.id, tier["amount_fen"])
            session.refresh(card)
            credited = card.bonus_fen - before
            if credited != order.bonus_fen:
                raise Conflict(f"赠送金额应为 ¥{yuan(order.bonus_fen)}，实际到账 ¥{yuan(credited)}")
            return (f"充值 ¥{yuan(order.amount_fen)}，赠送 ¥{yuan(order.bonus_fen)}，"
                    f"余额 ¥{yuan(card.balance_fen)}")
        run.step("top_up", top_up_step)

    store_id = _store_for(session, product)

    def redeem_step() -> str:
        if store_id is None:
            raise Conflict("没有可用的门店")
        code = show_code(session, redis, actor, card.id).numeric_code
        receipt = held["receipt"] = redeem(session, redis, config, actor, RedeemRequest(
            code=code, store_id=store_id, amount_fen=_bill_fen(product, card), uses=1))
        return (f"在门店核销：账单 ¥{yuan(receipt['bill_fen'])}，扣款 ¥{yuan(receipt['deducted_fen'])}，"
                f"扣次 {receipt['uses_deducted']}")

    if run.step("redeem", redeem_step):
        def reverse_step() -> str:
            reverse(session, actor, held["receipt"]["redemption_id"], "上线前测试冲正", config["REVERSAL_WINDOW_HOURS"])
            session.refresh(card)
            return f"冲正成功，卡内余额恢复为 ¥{yuan(card.balance_fen)}、次数 {card.uses_remaining}"
        run.step("reverse", reverse_step)
    else:
        run.skip("reverse", "核销未成功，无可冲正的记录")

    if not CardKind(product.kind).prepaid:
        run.skip("refund", "非预付卡，无需退款")
    elif not (product.refund_rule or {}).get("allowed"):
        def refused_refund() -> str:
            try:
                with session.begin_nested():
                    refund(session, actor, card.id, "上线前测试退款")
            except NotRefundable:
                return "退款：卡种规则不允许退款，申请被正确拒绝"
            raise Conflict("卡种规则不允许退款，退款申请却被受理")
        run.step("refund", refused_refund)
    else:
        def refund_step() -> str:
            record = refund(session, actor, card.id, "上线前测试退款")
            state = REFUND_STATES.get(record.status, record.status)
            return (f"退款 ¥{yuan(record.refund_fen)}（手续费 ¥{yuan(record.fee_fen)}，"
                    f"作废赠送 ¥{yuan(record.forfeited_bonus_fen)}），状态：{state}")
        run.step("refund", refund_step)
    return _finish(session, product, run)


def _store_for(session: Session, product: CardProduct) -> int | None:
    """An active store where the product's cards work."""
    stores = select(Store.id).where(Store.merchant_id == product.merchant_id, Store.active.is_(True))
    if product.store_scope != "all":
        stores = stores.where(Store.id.in_(product.store_scope or []))
    return session.scalar(stores.order_by(Store.id).limit(1))


def _finish(session: Session, product: CardProduct, run: _Run) -> dict[str, Any]:
    passed = all(step.ok for step in run.steps) and len(run.steps) == len(STEP_NAMES)
    now = utcnow()
    product.last_test_run = {"passed": passed, "at": now.isoformat(), "steps": [s.to_dict() for s in run.steps]}
    if passed:
        product.test_run_passed_at = now
    session.flush()
    return {"steps": [s.to_dict() for s in run.steps], "passed": passed}


# --- wiping ------------------------------------------------------------------------------------------


def wipe(session: Session, merchant_id: int) -> dict[str, int]:
    """Delete the merchant's test books (test books are not the books): every test-mode row, test
    cards and batches last. Live rows are never touched — every statement names mode 'test'."""
    _require_test_mode(session)
    removed: dict[str, int] = {}
    test_events = select(WebhookEvent.id).where(WebhookEvent.merchant_id == merchant_id,
                                                WebhookEvent.mode == Mode.TEST)
    test_deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(test_events))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(test_deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(test_events)))
    removed["webhook_events"] = session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(test_events))).rowcount
    for model in TEST_BOOKS:
        removed[model.__tablename__] = _delete_test_rows(session, model, merchant_id)
    test_keys = select(ApiKey.id).where(ApiKey.merchant_id == merchant_id, ApiKey.mode == Mode.TEST)
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.principal_kind == PrincipalKind.API_KEY,
                                                    IdempotencyRecord.principal_id.in_(test_keys)))
    removed["journals"] = _delete_test_rows(session, Journal, merchant_id)
    removed["cards"] = _delete_test_rows(session, Card, merchant_id)
    removed["batches"] = _delete_test_rows(session, Batch, merchant_id)
    session.expire_all()
    return removed


def _delete_test_rows(session: Session, model: Any, merchant_id: int) -> int:
    return session.execute(
        delete(model).where(model.merchant_id == merchant_id, model.mode == Mode.TEST)
        .execution_options(synchronize_session=False)
    ).rowcount
