"""Demo data for ``flask --app wsgi demo`` and ``make run``; safe to load twice."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from PIL import Image, ImageDraw
from redis import Redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.auth import Principal, PrincipalKind, hash_password
from server.cards.dynamic_codes import issue_code
from server.cards.models import Card
from server.consumers.models import Consumer
from server.db import utcnow
from server.issuance.demo import HISTORY_CLAIM_BATCH, HISTORY_PURCHASE_BATCH, GoLive, load_issuance_demo
from server.issuance.models import Batch, IssueMethod
from server.issuance.services import claim
from server.ledger.models import Journal, LedgerEntry
from server.merchants.models import (
    DocumentKind,
    Merchant,
    MerchantDocument,
    MerchantKind,
    MerchantStatus,
    Staff,
    StaffRole,
    Store,
)
from server.merchants.services import upload_document
from server.modes import Mode, use_mode
from server.payments.effects import run as run_effect
from server.payments.models import OrderPurpose, OrderStatus, PaymentOrder
from server.platform.models import PlatformAdmin
from server.products.models import CardProduct
from server.products.services import publish_product
from server.redemption.models import Redemption
from server.redemption.services import RedeemRequest, redeem, reverse
from server.storage import DocumentStorage
from server.testmode.services import run_test
from server.wechat import PaymentGateway, new_out_trade_no

ADMIN = ("admin", "kabao-admin-123")
MERCHANT_LICENSE = "91310000MA1FL0DE0Y"
#: (username, password, role, store name or None for HQ)
STAFF = [
    ("demo_owner", "kabao-demo-123", StaffRole.OWNER, None),
    ("demo_manager", "kabao-demo-123", StaffRole.MANAGER, None),
    ("demo_finance", "kabao-demo-123", StaffRole.FINANCE, None),
    ("demo_operations", "kabao-demo-123", StaffRole.OPERATIONS, None),
    ("demo_cashier", "kabao-demo-123", StaffRole.CASHIER, "人民广场店"),
]
STORES = [("人民广场店", "310101", "上海市黄浦区南京东路 1 号"), ("徐家汇店", "310104", "上海市徐汇区漕溪北路 2 号")]


DEMO_SUB_MCHID = "1900000301"


def load_demo(
    session: Session,
    config: Mapping[str, Any] | None = None,
    redis: Redis | None = None,
    gateway: PaymentGateway | None = None,
    storage: DocumentStorage | None = None,
) -> list[str]:
    """The platform admin, an approved demo merchant with stores and staff of every role; with ``storage``
    its qualification documents (every kind an approval needs); with ``config``, ``redis`` and ``gateway``
    also published products, active batches and a month of history for the reports.
    """
    if session.scalar(select(PlatformAdmin).where(PlatformAdmin.username == ADMIN[0])) is None:
        session.add(PlatformAdmin(username=ADMIN[0], password_hash=hash_password(ADMIN[1])))

    merchant = session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
    if merchant is None:
        merchant = Merchant(
            name="卡包示范咖啡",
            kind=MerchantKind.CHAIN,
            industry="cafe",
            region_code="310101",
            license_no=MERCHANT_LICENSE,
            legal_person="张三",
            contact_phone="13800000000",
            status=MerchantStatus.APPROVED,
            #: Its sub-merchant id under a service provider, so WECHAT_PAY_MODE=partner works in the demo too.
            wechat_sub_mchid=DEMO_SUB_MCHID,
        )
        session.add(merchant)
        session.flush()
        stores = {}
        for name, region, address in STORES:
            stores[name] = Store(merchant_id=merchant.id, name=name, region_code=region, address=address)
            session.add(stores[name])
        session.flush()
        for username, password, role, store_name in STAFF:
            session.add(
                Staff(
                    merchant_id=merchant.id,
                    store_id=stores[store_name].id if store_name else None,
                    username=username,
                    password_hash=hash_password(password),
                    role=role,
                )
            )
        session.flush()
    if storage is not None:
        _upload_documents(session, storage, merchant)

    lines = ["Kabao demo data loaded."]
    if config is not None and redis is not None and gateway is not None:
        lines += load_issuance_demo(session, config, merchant, go_live_after_test_run(session, redis, config))
        lines += _load_history(session, config, redis, gateway, merchant)
    return lines + demo_logins()


def demo_logins(base_url: str = "") -> list[str]:
    """The demo's sign-ins, the last thing ``make run`` prints (with the server's address when given)."""
    lines = ["Demo logins:", f"  platform admin    : {ADMIN[0]} / {ADMIN[1]}  ({base_url}/platform/login)"]
    lines += [
        f"  merchant {role.value:<10}: {username} / {password}  ({base_url}/console/login)"
        for username, password, role, _ in STAFF
    ]
    return lines


def _upload_documents(session: Session, storage: DocumentStorage, merchant: Merchant) -> None:
    """A placeholder image of each document kind the merchant lacks, uploaded as its owner would."""
    uploaded = set(session.scalars(select(MerchantDocument.kind).where(MerchantDocument.merchant_id == merchant.id)))
    owner = session.scalar(select(Staff).where(Staff.merchant_id == merchant.id, Staff.role == StaffRole.OWNER))
    for kind in DocumentKind:
        if kind in uploaded:
            continue
        image = Image.new("RGB", (480, 300), "#F1F3F5")
        ImageDraw.Draw(image).text((24, 24), f"DEMO {kind.value}", fill="#212529")
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        upload_document(session, storage, _principal(owner), kind=kind, data=buffer.getvalue())


#: Demo consumers and, per consumer, the top-ups (fen) and bills (fen) of their month.
HISTORY = [
    ("demo_consumer_a", [30000, 50000], [3200, 4500, 2800, 6100]),
    ("demo_consumer_b", [30000], [1800, 2600, 3300]),
    ("demo_consumer_c", [50000, 30000], [5200, 4100, 3900, 2500, 1700]),
    ("demo_consumer_d", [], [2100]),
]
HISTORY_DAYS = 30


def _load_history(
    session: Session, config: Mapping[str, Any], redis: Redis, gateway: PaymentGateway, merchant: Merchant
) -> list[str]:
    """Cards claimed, bought and topped up through the payment effects, redeemed at both stores (one
    reversed), then spread over the past month up to now, so the dashboard and reports show real
    figures. Runs once."""
    if session.scalar(select(Consumer.id).where(Consumer.openid == HISTORY[0][0])) is not None:
        return []
    by_name = {b.name: b for b in session.scalars(select(Batch).where(Batch.merchant_id == merchant.id))}
    # Sold and claimed only from the active batches named for it, never from one still awaiting approval.
    batches = {IssueMethod.CLAIM: by_name[HISTORY_CLAIM_BATCH], IssueMethod.PURCHASE: by_name[HISTORY_PURCHASE_BATCH]}
    staff = {s.role: s for s in session.scalars(select(Staff).where(Staff.merchant_id == merchant.id))}
    cashier, owner, manager = (_principal(staff[role]) for role in (StaffRole.CASHIER, StaffRole.OWNER,
                                                                     StaffRole.MANAGER))
    stores = list(session.scalars(select(Store).where(Store.merchant_id == merchant.id).order_by(Store.id)))
    first_journal = session.scalar(select(func.coalesce(func.max(Journal.id), 0)))
    receipts = []
    for openid, top_ups, bills in HISTORY:
        consumer = Consumer(openid=openid)
        session.add(consumer)
        session.flush()
        claim(session, config, batch_id=batches[IssueMethod.CLAIM].id, consumer_id=consumer.id)
        card_order = _paid_order(session, merchant.id, consumer.id, OrderPurpose.PURCHASE,
                                 batches[IssueMethod.PURCHASE].price_fen, batch_id=batches[IssueMethod.PURCHASE].id)
        run_effect(session, gateway, config, card_order)
        for amount in top_ups:
            order = _paid_order(session, merchant.id, consumer.id, OrderPurpose.TOP_UP, amount,
                                bonus_fen=amount // 10, card_id=card_order.card_id)
            run_effect(session, gateway, config, order)
        for n, bill in enumerate(bills):
            store = stores[n % len(stores)]
            at_counter = cashier if store.id == cashier.store_id else owner
            code = issue_code(redis, card_order.card_id)
            receipts.append(redeem(session, redis, config, at_counter,
                                   RedeemRequest(code=code.qr_payload, store_id=store.id, amount_fen=bill)))
    reverse(session, manager, receipts[1]["redemption_id"], "收银员输错金额", config["REVERSAL_WINDOW_HOURS"])
    _spread_over_past_month(session, merchant.id, first_journal)
    return [f"  history: {len(HISTORY)} demo consumers with claims, purchases, top-ups and redemptions"]


def _principal(staff: Staff) -> Principal:
    return Principal(PrincipalKind.STAFF, staff.id, merchant_id=staff.merchant_id, role=staff.role,
                     store_id=staff.store_id)


def _paid_order(session: Session, merchant_id: int, consumer_id: int, purpose: OrderPurpose, amount_fen: int,
                **fields: Any) -> PaymentOrder:
    order = PaymentOrder(merchant_id=merchant_id, consumer_id=consumer_id, purpose=purpose,
                         out_trade_no=new_out_trade_no("D"), amount_fen=amount_fen, status=OrderStatus.PAID,
                         transaction_id=new_out_trade_no("W"), paid_at=utcnow(), expires_at=utcnow(), **fields)
    session.add(order)
    session.flush()
    return order


def _spread_over_past_month(session: Session, merchant_id: int, after_journal_id: int) -> None:
    """Demo only: spread the history just booked over the last HISTORY_DAYS days, the newest at now."""
    journals = list(session.scalars(select(Journal).where(Journal.merchant_id == merchant_id,
                                                          Journal.id > after_journal_id).order_by(Journal.id)))
    now = utcnow()
    for n, journal in enumerate(journals):
        moment = now - timedelta(days=(HISTORY_DAYS - 1) * (1 - n / max(len(journals) - 1, 1)))
        journal.created_at = moment
        session.execute(update(LedgerEntry).where(LedgerEntry.journal_id == journal.id).values(created_at=moment))
        session.execute(update(Redemption).where(Redemption.journal_id == journal.id).values(created_at=moment))
        if journal.ref_type == "card":
            session.execute(update(Card).where(Card.id == journal.ref_id).values(created_at=moment))
    session.flush()


def go_live_after_test_run(session: Session, redis: Redis, config: Mapping[str, Any]) -> GoLive:
    """Publish an approved demo product as a merchant would: a passing test run first (prepaid products
    need one), then publishing under the rule."""

    def go_live(owner: Principal, product: CardProduct) -> None:
        use_mode(session, Mode.TEST)
        try:
            result = run_test(session, redis, config, owner, product.id)
        finally:
            use_mode(session, Mode.LIVE)
        if not result["passed"]:
            raise RuntimeError(f"demo product {product.name} failed its test run: {result['steps']}")
        publish_product(session, owner, product.id, require_test_run=True)

    return go_live
