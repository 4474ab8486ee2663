"""One page of the audit log, newest first, in words: who did what to which object, the details as
people say them (amounts in yuan, statuses and roles by their Chinese names, stores, cards and
products by name, regions by name) and the address it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.cards.models import Card
from server.cards.serializers import mask_card_no
from server.console.filters import label, money, region, shanghai_time
from server.db import db
from server.merchants.models import Merchant, Staff, Store
from server.pagination import paginate
from server.platform.models import PlatformAdmin
from server.products.models import CardProduct
from server.templates_library import get_template

PAGE_SIZE = 50

#: actor_type → (model, column holding the name shown for the actor).
_ACTOR_NAMES = {"staff": (Staff, Staff.username), "admin": (PlatformAdmin, PlatformAdmin.username)}

#: What a detail key is called; keys not listed are shown as they are.
DETAIL_LABELS = {
    "store_id": "门店", "card_id": "卡号", "product_id": "卡种", "payable_fen": "应付", "deducted_fen": "卡内扣款",
    "uses": "次数", "reason": "原因", "comment": "意见", "from": "原状态", "to": "新状态", "template_code": "模板",
    "fields": "修改项", "quantity": "数量", "price_fen": "售价", "issue_method": "发行方式", "status": "状态",
    "role": "角色", "count": "数量", "voided": "已作废", "requested": "申请作废", "name": "名称", "kind": "类型",
    "region_code": "地区", "refund_no": "退款单号", "refund_fen": "退款金额", "fee_fen": "手续费",
    "forfeited_bonus_fen": "放弃的赠送金额", "expires_at": "到期时间", "from_consumer_id": "原持卡人",
    "cooling_off": "七天内无消费全额退", "rows": "行数", "username": "用户名", "document_kind": "文件类型",
    "points": "积分", "points_price": "所需积分", "stock": "库存",
    "paid_fen": "实收", "amount_fen": "金额", "principal_fen": "本金", "bonus_fen": "赠送", "value_fen": "储值",
    "uses_remaining": "剩余次数", "new_card_id": "新卡", "from_stock": "使用库存实体卡", "card_no": "卡号",
    "batch_id": "发行批次", "member_id": "会员", "top_up_id": "充值单", "external_order_no": "外部订单号",
    "format": "格式", "cards": "张数", "url": "地址", "events": "事件", "mode": "模式", "scopes": "权限范围",
    "key_prefix": "密钥前缀", "width": "宽（像素）", "height": "高（像素）",
}

#: What an audited object is called.
TARGET_LABELS = {
    "redemption": "核销单", "card": "卡", "batch": "发行批次", "product": "卡种", "store": "门店", "staff": "员工",
    "merchant": "商户", "channel": "渠道",
    "reward": "兑换商品", "document": "资质文件", "refund": "退款", "order": "订单",
    "api_key": "API 密钥", "webhook": "回调地址", "webhook_delivery": "事件投递",
}

#: The label group of a status, by the kind of object whose status changed.
_STATUS_GROUPS = {"product": "product_status", "batch": "batch_status", "merchant": "merchant_status",
                  "card": "card_status", "redemption": "redemption_status"}

#: Detail keys holding the id of something shown by name → the names it is looked up in.
_NAMED_IDS = {"store_id": "store_id", "card_id": "card_id", "new_card_id": "card_id", "product_id": "product_id"}

#: The label group of other enumerated details.
_VALUE_GROUPS = {"issue_method": "issue_method", "role": "role", "kind": "channel_kind",
                 "document_kind": "document_kind"}


def _value(key: str, value: Any, target_type: str | None, names: dict[str, dict[int, str]]) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.endswith("_fen") and isinstance(value, int):
        return money(value)
    if key in ("from", "to", "status") and target_type in _STATUS_GROUPS:
        return label(value, _STATUS_GROUPS[target_type])
    if key in _VALUE_GROUPS:
        return label(value, _VALUE_GROUPS[key])
    if key == "region_code":
        return region(value)
    if key == "template_code" and isinstance(value, str):
        template = get_template(value)
        return template["name"] if template else value
    if key == "expires_at" and isinstance(value, str):
        return shanghai_time(value)
    if key in _NAMED_IDS and isinstance(value, int):
        return names[_NAMED_IDS[key]].get(value, f"#{value}")
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def describe(entry: AuditEntry, names: dict[str, dict[int, str]]) -> list[tuple[str, str]]:
    """The entry's details as (name, value) pairs people read."""
    return [(DETAIL_LABELS.get(key, key), _value(key, value, entry.target_type, names))
            for key, value in (entry.detail or {}).items()]


def _names_of(entries: list[AuditEntry]) -> dict[str, dict[int, str]]:
    """Names of the stores, cards (masked) and products the entries' details refer to."""
    wanted: dict[str, set[int]] = {"store_id": set(), "card_id": set(), "product_id": set()}
    for entry in entries:
        for detail_key, key in _NAMED_IDS.items():
            value = (entry.detail or {}).get(detail_key)
            if isinstance(value, int):
                wanted[key].add(value)
        if entry.target_type in ("card", "product", "store") and entry.target_id is not None:
            wanted[f"{entry.target_type}_id"].add(entry.target_id)
    lookups: dict[str, tuple[Any, Callable[[Any], str]]] = {
        "store_id": (select(Store.id, Store.name).where(Store.id.in_(wanted["store_id"])), str),
        "card_id": (select(Card.id, Card.card_no).where(Card.id.in_(wanted["card_id"])), mask_card_no),
        "product_id": (select(CardProduct.id, CardProduct.name).where(CardProduct.id.in_(wanted["product_id"])), str),
    }
    return {key: {row_id: shown(value) for row_id, value in db.session.execute(stmt)}
            for key, (stmt, shown) in lookups.items()}


def target_text(entry: AuditEntry, names: dict[str, dict[int, str]]) -> str:
    """The audited object: 核销单 #12, 卡 6200 **** **** 0001, 卡种「咖啡储值卡」."""
    if entry.target_type is None:
        return ""
    kind = TARGET_LABELS.get(entry.target_type, entry.target_type)
    named = names.get(f"{entry.target_type}_id", {}).get(entry.target_id) if entry.target_id is not None else None
    if named:
        return f"{kind} {named}" if entry.target_type == "card" else f"{kind}「{named}」"
    return f"{kind} #{entry.target_id}" if entry.target_id is not None else kind


def audit_page(merchant_id: int | None, cursor: str | None) -> dict[str, Any]:
    """A merchant's entries (every entry for the platform when None) and ``next_cursor``.

    ``actor_names`` maps (actor_type, actor_id) to a username, ``merchant_names`` an id to a name;
    ``details`` and ``targets`` map an entry's id to what the page shows for it."""
    stmt = select(AuditEntry)
    if merchant_id is not None:
        stmt = stmt.where(AuditEntry.merchant_id == merchant_id)
    page = paginate(db.session, stmt, AuditEntry.id, limit=PAGE_SIZE, cursor=cursor, serialize=lambda entry: entry)
    entries: list[AuditEntry] = page["items"]
    actor_names: dict[tuple[str, int], str] = {}
    for actor_type, (model, name) in _ACTOR_NAMES.items():
        ids = {e.actor_id for e in entries if e.actor_type == actor_type and e.actor_id is not None}
        for actor_id, username in db.session.execute(select(model.id, name).where(model.id.in_(ids))):
            actor_names[(actor_type, actor_id)] = username
    merchant_ids = {e.merchant_id for e in entries if e.merchant_id is not None}
    merchant_names = dict(db.session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids)))
                          .tuples().all())
    names = _names_of(entries)
    return {**page, "actor_names": actor_names, "merchant_names": merchant_names,
            "details": {e.id: describe(e, names) for e in entries},
            "targets": {e.id: target_text(e, names) for e in entries}}
