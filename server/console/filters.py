"""Jinja filters of the console: money from integer fen, Asia/Shanghai times, Chinese labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from jinja2 import Undefined

from server.merchants.models import DOCUMENT_LABELS
from server.regions import region_name
from server.reports.exports import percent_text
from server.timeutil import SHANGHAI

#: Chinese names of the enumerations shown in the console; unknown values are shown as they are.
LABELS: dict[str, dict[str, str]] = {
    "product_status": {
        "draft": "草稿", "pending_review": "待审核", "approved": "审核通过", "rejected": "已驳回",
        "published": "已发布", "retired": "已下架",
    },
    "merchant_status": {
        "pending_review": "待审核", "approved": "已通过", "rejected": "已驳回", "suspended": "已暂停",
    },
    "merchant_kind": {"chain": "连锁", "individual": "个体", "ecommerce": "电商"},
    "card_kind": {"stored_value": "储值卡", "count": "次卡", "points": "积分卡", "discount": "折扣卡"},
    "role": {"owner": "店主", "manager": "店长", "cashier": "收银员", "finance": "财务", "operations": "运营"},
    "document_kind": {str(kind): label for kind, label in DOCUMENT_LABELS.items()},
    "validity_type": {"permanent": "永久有效", "fixed": "固定日期", "relative": "激活后若干天"},
    "deduction_order": {
        "proportional": "本金与赠送按比例扣减", "bonus_first": "先扣赠送金额", "principal_first": "先扣本金",
    },
    "actor_type": {"staff": "员工", "admin": "平台", "consumer": "消费者", "system": "系统", "api_key": "开放接口"},
    "audit_action": {
        "merchant.register": "商户注册", "merchant.approve": "商户审核通过", "merchant.reject": "商户审核驳回",
        "merchant.document_upload": "上传资质文件", "store.create": "新建门店", "staff.create": "新建员工",
        "product.create": "新建卡种", "product.update": "修改卡种", "product.submit": "提交卡种审核",
        "product.approve": "卡种审核通过", "product.reject": "卡种审核驳回", "product.publish": "发布卡种",
        "product.retire": "下架卡种", "product.face": "上传卡面图片",
        "merchant.wechat_pay": "设置微信支付子商户号",
        "channel.create": "新建渠道", "batch.create": "新建发行批次", "batch.approve": "审批发行批次",
        "batch.print_file": "导出印制文件",
        "codes.generate": "生成兑换码", "codes.void": "作废兑换码", "codes.bulk_bind": "批量绑定兑换码",
        "redemption.create": "核销", "redemption.reverse": "冲正核销",
        "card.reveal": "查看卡密", "card.reactivate": "重新激活卡", "card.refund": "申请退款",
        "card.freeze": "冻结卡", "card.unfreeze": "解冻卡",
        "card.activate": "售卡激活", "card.bind": "绑定实体卡", "card.report_lost": "挂失", "card.replace": "补办新卡",
        "open.card.issue": "开放接口发卡", "open.card.bind": "会员领取开放接口发的卡", "open.top_up": "开放接口充值",
        "api_key.create": "新建 API 密钥", "api_key.revoke": "吊销 API 密钥",
        "reward.create": "上架兑换商品", "reward.exchange": "积分兑换",
        "card.transfer_offer": "发起转赠", "card.transfer_accept": "接受转赠",
        "webhook.create": "新建回调地址", "webhook.delete": "删除回调地址", "webhook.redeliver": "重新投递事件",
    },
    "channel_kind": {"miniprogram": "小程序", "offline": "线下地推", "partner": "合作门店", "ecommerce": "电商平台"},
    "batch_status": {"pending_approval": "待审批", "active": "发行中", "paused": "已暂停", "closed": "已关闭"},
    "issue_method": {"claim": "免费领取", "purchase": "购买", "code": "兑换码", "physical": "实体卡（门店售卡激活）"},
    #: What a batch's issued count means for its issue method.
    "issued_count": {"claim": "已领取", "purchase": "已售出", "code": "已兑换", "physical": "已制卡"},
    "product_form": {"virtual": "虚拟卡", "physical": "实体卡"},
    "redemption_status": {"completed": "已核销", "reversed": "已冲正"},
    "journal_kind": {"issue": "开卡", "top_up": "充值", "redeem": "核销", "reverse": "冲正", "refund": "退款",
                     "expire": "过期", "adjust": "调整", "exchange": "积分兑换", "replace": "补办转移"},
    "reward_kind": {"goods": "商品", "stored_value": "储值", "uses": "次数"},
    "card_status": {"active": "正常", "frozen": "已冻结", "expired": "已过期", "refunded": "已退款",
                    "inactive": "未激活", "replaced": "已补办"},
}


def _split_fen(fen: int) -> tuple[str, int, int]:
    """(sign, yuan, cents) with integer arithmetic only: money never touches a float."""
    yuan, cents = divmod(abs(fen), 100)
    return ("-" if fen < 0 else ""), yuan, cents


def money(fen: int | None) -> str:
    """Integer fen as the console shows money: ¥1,234.56 (empty for no amount)."""
    if fen is None or isinstance(fen, Undefined):
        return ""
    sign, yuan, cents = _split_fen(fen)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def yuan_input(value: Any) -> str:
    """The value of a yuan input: fen shown as yuan (1234 → 12.34); text the merchant typed, untouched."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        sign, yuan, cents = _split_fen(value)
        return f"{sign}{yuan}.{cents:02d}"
    return str(value)


def shanghai_time(moment: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time, or an ISO 8601 time of an API answer, as people in China read it."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(SHANGHAI).strftime(pattern) if moment else ""


def rate(basis_points: int | None) -> str:
    """A rate in basis points as a percentage (3750 → 37.50%), "—" when there is nothing to divide."""
    return "—" if basis_points is None or isinstance(basis_points, Undefined) else percent_text(basis_points)


def region(code: str | None) -> str:
    """A GB/T 2260 code as people read it (上海市黄浦区); the code itself is kept for the unknown."""
    return region_name(code) if code and not isinstance(code, Undefined) else ""


def regions(codes: list[str] | None) -> str:
    """A list of codes by name, 、-separated; empty for none."""
    return "、".join(region_name(code) for code in codes or [])


def label(value: Any, group: str) -> str:
    return LABELS[group].get(value, value) if value is not None else ""


def site_path(url: str) -> str:
    """The path of one of our own absolute URLs, so pages work under whatever host serves them."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def register(app: Flask) -> None:
    for function in (money, yuan_input, shanghai_time, label, site_path, rate, region, regions):
        app.add_template_filter(function)
