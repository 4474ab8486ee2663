"""The issuance demo: active claim, purchase and code batches and one batch awaiting approval, loaded
twice without duplicates."""

from flask import current_app
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.consumers.models import Consumer
from server.demo import MERCHANT_LICENSE, go_live_after_test_run, load_demo
from server.extensions import get_redis
from server.issuance.codes import bind_code
from server.issuance.demo import load_issuance_demo
from server.issuance.models import Batch, BatchApproval, Channel
from server.ledger.models import ActorType
from server.merchants.models import Merchant
from server.products.models import CardProduct


def _load(session):
    load_demo(session)
    merchant = session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
    return load_issuance_demo(session, current_app.config, merchant,
                              go_live_after_test_run(session, get_redis(), current_app.config))


def test_the_demo_batches_are_active_and_the_codes_bind(session):
    lines = _load(session)
    batches = session.scalars(select(Batch).order_by(Batch.id)).all()
    assert [(b.issue_method, b.status) for b in batches] == [("claim", "active"), ("purchase", "active"),
                                                            ("code", "active"), ("purchase", "pending_approval")]
    assert batches[1].price_fen == 10000 and batches[0].price_fen == batches[2].price_fen == 0
    products = session.scalars(select(CardProduct)).all()
    assert [(p.status, p.validation["errors"]) for p in products] == [("published", [])] * 3
    assert all(p.test_run_passed_at and p.last_test_run["passed"] for p in products)  # live the real way
    approvers = session.execute(select(BatchApproval.batch_id, BatchApproval.role)).all()
    assert sorted(approvers) == sorted((b.id, role) for b in batches[1:3] for role in ("operations", "finance"))
    codes = [line.split(": ")[1].split()[0] for line in lines if "redemption code" in line]
    assert len(codes) == 3
    consumer = Consumer(openid="o-demo")
    session.add(consumer)
    session.flush()
    card, _ = bind_code(session, current_app.config, code=codes[0], consumer_id=consumer.id,
                        actor_type=ActorType.CONSUMER, actor_id=consumer.id)
    assert card.bonus_fen == 10000


def test_loading_twice_creates_nothing_new_and_shows_codes_once(session):
    _load(session)
    again = _load(session)
    assert not any("redemption code" in line for line in again)
    assert len([line for line in again if " batch " in line]) == 4
    for model, count in ((Batch, 4), (Channel, 1), (CardProduct, 3)):
        assert session.scalar(select(func.count()).select_from(model)) == count
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "codes.generate")) == 1


def test_the_demo_is_consistent_a_cafes_cards_and_no_sales_from_a_batch_awaiting_approval(app, session):
    from server.extensions import get_redis
    from server.wechat.adapters import get_payment_gateway

    load_demo(session, current_app.config, get_redis(), get_payment_gateway())
    for batch in session.scalars(select(Batch)):
        if batch.status == "pending_approval":
            assert batch.issued_count == 0, batch.name  # never 待审批 and 已售出 at once
    merchant = session.scalar(select(Merchant).where(Merchant.license_no == MERCHANT_LICENSE))
    assert merchant.industry == "cafe"
    for product in session.scalars(select(CardProduct)):
        for word in ("烘焙", "面包", "蛋糕", "洗剪吹", "美发", "理发"):
            assert word not in (product.terms or "") and word not in product.name, (product.name, word)
        assert product.validation["errors"] == []
