"""Demo issuance: a channel and active claim, purchase and code batches of the demo merchant; safe to load twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth import Principal, PrincipalKind
from server.issuance.codes import generate_codes
from server.issuance.models import Batch, BatchStatus, Channel, ChannelKind, IssueMethod
from server.issuance.services import approve_batch, create_batch, create_channel
from server.merchants.models import Merchant, Staff, StaffRole
from server.money import yuan
from server.products.models import CardProduct, ProductStatus
from server.products.services import create_product

#: Puts an approved demo product on sale as its owner (server/demo.py: its test run, then publishing).
GoLive = Callable[[Principal, CardProduct], None]

CHANNEL = {"name": "小程序", "kind": ChannelKind.MINIPROGRAM, "allow_coupon_stacking": True, "cost_per_card_fen": 500}
#: The count card's terms, in the demo café's own words (the count-card template is a hair salon's).
COFFEE_COUNT_TERMS = (
    "本卡含中杯美式咖啡10杯，每杯核销1次，可在全部门店使用，自激活之日起730天内有效；到期仍有剩余次数的，"
    "可申请延期180天或按剩余次数折算退款。购卡之日起7日内且未使用的，可申请全额退款，不收取任何费用；"
    "超过7日或已使用的，按剩余次数（单次价格=实付金额÷总次数）折算退还，不收取手续费；因本店原因无法继续"
    "提供服务的，按上述方式折算退还且不收取手续费。本卡可转赠他人，转赠后由受赠人继续使用。本店如停业、歇业"
    "或迁址，将至少提前30日通知持卡人，持卡人可申请退还未消费的余额。商品价格如需调整，将提前在门店和小程序"
    "公示，已购卡的权益不受影响。"
)
#: template code → overrides of the demo product made from it: a café's cards, in a café's words (the
#: restaurant template's terms speak of 本品牌全部门店, 堂食、外带 — true of a café).
PRODUCTS: dict[str, dict[str, Any]] = {
    "cafe_points": {},
    "restaurant_stored_value": {"name": "100元储值卡", "face_value_fen": 10000},
    "hair_salon_count": {"name": "美式咖啡10杯卡", "service_name": "中杯美式咖啡", "face_value_fen": 25000,
                         "terms": COFFEE_COUNT_TERMS},
}
#: (batch name, template code, issue method, price = face value?, quantity, per-user limit, approved?)
BATCHES = [
    ("开业免费领积分卡", "cafe_points", IssueMethod.CLAIM, False, 1000, 1, True),
    ("100元储值卡 在线购买", "restaurant_stored_value", IssueMethod.PURCHASE, True, 500, 5, True),
    ("100元储值卡 礼品兑换码", "restaurant_stored_value", IssueMethod.CODE, False, 200, None, True),
    # Left for operations and finance to approve in the console: nothing is sold from it yet.
    ("美式咖啡10杯卡 会员专享", "hair_salon_count", IssueMethod.PURCHASE, True, 100, 2, False),
]
#: The batches the demo's history buys from and claims from (by name: two batches sell by purchase).
HISTORY_CLAIM_BATCH, HISTORY_PURCHASE_BATCH = BATCHES[0][0], BATCHES[1][0]
#: Codes printed once, when the code batch is first created, so binding can be tried at once.
DEMO_CODES = 3


def _staff(session: Session, merchant: Merchant, role: StaffRole) -> Principal:
    staff = session.scalars(
        select(Staff).where(Staff.merchant_id == merchant.id, Staff.role == role).order_by(Staff.id)
    ).first()
    if staff is None:
        raise RuntimeError(f"the demo merchant needs a {role.value} to load its batches")
    return Principal(PrincipalKind.STAFF, staff.id, merchant.id, staff.role, staff.store_id)


def _published_product(session: Session, owner: Principal, template_code: str, go_live: GoLive) -> CardProduct:
    """The merchant's published product of this template with the demo name, created if missing: past
    platform review by a demo shortcut, then live the real way (``go_live``: its test run, then publish)."""
    overrides = PRODUCTS[template_code]
    found = session.scalars(select(CardProduct).where(
        CardProduct.merchant_id == owner.merchant_id, CardProduct.template_code == template_code,
        CardProduct.status == ProductStatus.PUBLISHED,
    ).order_by(CardProduct.id)).all()
    named = [p for p in found if "name" not in overrides or p.name == overrides["name"]]
    if named:
        return named[0]
    product = create_product(session, owner, dict(overrides), template_code)
    product.status = ProductStatus.APPROVED  # demo shortcut past platform review
    session.flush()
    go_live(owner, product)
    return product


def load_issuance_demo(session: Session, config: Mapping[str, Any], merchant: Merchant, go_live: GoLive) -> list[str]:
    """Create what is missing and describe every demo batch (plaintext codes only on first creation)."""
    owner = _staff(session, merchant, StaffRole.OWNER)
    channel = session.scalar(select(Channel).where(Channel.merchant_id == merchant.id,
                                                   Channel.name == CHANNEL["name"]))
    if channel is None:
        channel = create_channel(session, owner, CHANNEL)
    lines = []
    for name, template_code, method, sold_at_face_value, quantity, per_user_limit, approved in BATCHES:
        product = _published_product(session, owner, template_code, go_live)
        batch = session.scalar(select(Batch).where(Batch.merchant_id == merchant.id, Batch.name == name))
        codes: list[str] = []
        if batch is None:
            batch = create_batch(session, owner, {
                "product_id": product.id, "channel_id": channel.id, "name": name, "quantity": quantity,
                "price_fen": product.face_value_fen if sold_at_face_value else 0, "issue_method": method,
                "per_user_limit": per_user_limit, "sale_start": None, "sale_end": None, "region_codes": [],
            })
            for role in (StaffRole.OPERATIONS, StaffRole.FINANCE):
                if approved and batch.status != BatchStatus.ACTIVE:
                    approve_batch(session, _staff(session, merchant, role), batch.id)
            if method == IssueMethod.CODE:
                codes = generate_codes(session, config, owner, batch.id, DEMO_CODES)
        price = f"{yuan(batch.price_fen)} 元"
        lines.append(f"  {method.value} batch {batch.id}: {name} ({price}, {batch.status})"
                     f"  GET /api/v1/mp/batches/{batch.id}")
        lines += [f"    redemption code (shown once): {code}  (POST /api/v1/mp/cards/bind)" for code in codes]
    return lines
