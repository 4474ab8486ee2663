"""The arithmetic of a redemption, for every card kind. Pure functions: integers in, integers out.

Every rounding goes in the consumer's favour: discounts round the payable amount down, and a
proportional split takes principal (which is refundable) rounded down, the rest from bonus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.errors import (
    BusinessRuleError,
    InsufficientBalance,
    InsufficientPoints,
    InsufficientUses,
    MinSpendNotMet,
    ValidationError,
)
from server.ledger.accounts import CardBalances
from server.merchants.identity import region_covers, region_precision
from server.money import yuan
from server.products.models import CardKind, DeductionOrder


@dataclass(frozen=True)
class Outcome:
    """What a redemption takes from and gives to a card."""

    bill_fen: int = 0
    payable_fen: int = 0
    principal_fen: int = 0
    bonus_fen: int = 0
    uses: int = 0
    points_earned: int = 0
    points_redeemed: int = 0

    @property
    def deducted_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


def discount_percent_for(product_percent: int | None, regional: Sequence[Mapping[str, Any]], region: str) -> int:
    """The discount of the most specific area the product sets one for that holds the store's region
    (a district's over its city's over its province's), else the product's (100 = none)."""
    covering = [rule for rule in regional or () if region_covers(rule["region_code"], region)]
    if covering:
        return int(max(covering, key=lambda rule: region_precision(rule["region_code"]))["discount_percent"])
    return product_percent or 100


def usable_in(region_codes: Sequence[str], region: str) -> bool:
    """Whether a card of a batch sold for ``region_codes`` (none: everywhere) may be used in ``region``."""
    return not region_codes or any(region_covers(area, region) for area in region_codes)


def apply_discount(bill_fen: int, percent: int) -> int:
    return bill_fen * percent // 100


def split_payment(payable_fen: int, principal_fen: int, bonus_fen: int, order: str) -> tuple[int, int]:
    """(principal, bonus) taken for ``payable_fen``; INSUFFICIENT_BALANCE when the card can't cover it."""
    if payable_fen > principal_fen + bonus_fen:
        raise InsufficientBalance(details={"balance_fen": principal_fen + bonus_fen, "payable_fen": payable_fen})
    if order == DeductionOrder.BONUS_FIRST:
        from_bonus = min(bonus_fen, payable_fen)
        return payable_fen - from_bonus, from_bonus
    if order == DeductionOrder.PRINCIPAL_FIRST:
        from_principal = min(principal_fen, payable_fen)
        return from_principal, payable_fen - from_principal
    from_principal = payable_fen * principal_fen // (principal_fen + bonus_fen) if payable_fen else 0
    from_bonus = payable_fen - from_principal
    if from_bonus > bonus_fen:  # rounding can only overshoot bonus by a fen; take it from principal
        from_principal, from_bonus = payable_fen - bonus_fen, bonus_fen
    return from_principal, from_bonus


def points_for(amount_fen: int, earn_per_yuan: int | None) -> int:
    """Points earned on an amount: whole yuan only."""
    return (amount_fen // 100) * (earn_per_yuan or 0)


def recognised_principal(principal_fen: int, uses_left: int, uses_taken: int) -> int:
    """Principal of a count card recognised for some uses: pro rata, the last use takes the rest."""
    if uses_taken >= uses_left:
        return principal_fen
    return principal_fen * uses_taken // uses_left


def compute(
    *,
    kind: str,
    balances: CardBalances,
    bill_fen: int,
    uses: int,
    redeem_points: int,
    discount_percent: int,
    deduction_order: str,
    min_spend_fen: int,
    points_rule: Mapping[str, Any],
) -> Outcome:
    """The outcome of redeeming against one card, or the business error that refuses it."""
    if kind == CardKind.COUNT:
        if uses < 1:
            raise ValidationError({"uses": "次数至少为 1"})
        if uses > balances.uses_remaining:
            raise InsufficientUses(details={"remaining_uses": balances.uses_remaining, "requested": uses})
        principal = recognised_principal(balances.principal_fen, balances.uses_remaining, uses)
        return Outcome(uses=uses, principal_fen=principal)

    if bill_fen <= 0:
        raise ValidationError({"amount_fen": "请输入消费金额"})
    if bill_fen < min_spend_fen:
        raise MinSpendNotMet(f"消费满 {yuan(min_spend_fen)} 元可用",
                             details={"min_spend_fen": min_spend_fen})
    payable = apply_discount(bill_fen, discount_percent)
    earn_per_yuan = points_rule.get("earn_per_yuan")

    if kind == CardKind.STORED_VALUE:
        principal, bonus = split_payment(payable, balances.principal_fen, balances.bonus_fen, deduction_order)
        return Outcome(bill_fen=bill_fen, payable_fen=payable, principal_fen=principal, bonus_fen=bonus,
                       points_earned=points_for(payable, earn_per_yuan))

    if kind == CardKind.POINTS:
        if redeem_points > balances.points:
            raise InsufficientPoints(details={"points": balances.points, "requested": redeem_points})
        per_yuan_off = points_rule.get("points_per_yuan_off") or 0
        if redeem_points and not per_yuan_off:
            raise BusinessRuleError("该卡不支持积分抵扣", code="AMOUNT_NOT_ALLOWED")
        value_off = min(redeem_points * 100 // per_yuan_off, payable) if redeem_points else 0
        # Spend only the points the discount needs (never more than the bill is worth).
        spent = -(-value_off * per_yuan_off // 100) if redeem_points else 0
        payable -= value_off
        return Outcome(bill_fen=bill_fen, payable_fen=payable, points_redeemed=spent,
                       points_earned=points_for(payable, earn_per_yuan))

    return Outcome(bill_fen=bill_fen, payable_fen=payable, points_earned=points_for(payable, earn_per_yuan))
