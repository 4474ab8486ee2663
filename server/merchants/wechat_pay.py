"""Where a merchant's WeChat Pay money goes (API.md "WeChat Pay modes").

``direct``: one WeChat Pay merchant account takes every payment — right for a business running Kabao
for itself; with several approved merchants the platform would be collecting for others through
its own account (二清), so the platform console warns. ``partner``: the account is the platform's
service-provider (服务商) account and each merchant is a sub-merchant whose ``sub_mchid`` the
platform sets; a merchant without one takes no payment (422 PAYMENT_NOT_CONFIGURED).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.services import record
from server.errors import Conflict, PaymentNotConfigured, ValidationError
from server.merchants.models import Merchant, MerchantStatus
from server.merchants.services import get_merchant

#: WeChat Pay merchant numbers are digits (10 today); leave room for longer ones.
SUB_MCHID = re.compile(r"[0-9]{8,32}")
SUB_MCHID_MESSAGE = "子商户号应为 8–32 位数字"


def set_sub_mchid(session: Session, admin_id: int, merchant_id: int, sub_mchid: str) -> Merchant:
    """The platform records the sub-merchant id WeChat Pay gave the merchant; one merchant per id."""
    if not SUB_MCHID.fullmatch(sub_mchid or ""):
        raise ValidationError({"sub_mchid": SUB_MCHID_MESSAGE})
    merchant = get_merchant(session, merchant_id)
    holder = session.scalar(select(Merchant.id).where(Merchant.wechat_sub_mchid == sub_mchid))
    if holder is not None and holder != merchant.id:
        raise Conflict("该子商户号已绑定其他商户")
    before, merchant.wechat_sub_mchid = merchant.wechat_sub_mchid, sub_mchid
    session.flush()
    record(session, action="merchant.wechat_pay", actor_type="admin", actor_id=admin_id, merchant_id=merchant.id,
           target_type="merchant", target_id=merchant.id, detail={"from": before, "to": sub_mchid})
    return merchant


def payment_sub_mchid(session: Session, merchant_id: int, *, partner: bool) -> str | None:
    """The sub-merchant a payment to ``merchant_id`` goes to (None in direct mode)."""
    if not partner:
        return None
    sub_mchid = session.scalar(select(Merchant.wechat_sub_mchid).where(Merchant.id == merchant_id))
    if not sub_mchid:
        raise PaymentNotConfigured()
    return sub_mchid


def approved_merchant_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Merchant).where(Merchant.status == MerchantStatus.APPROVED))
