"""Local prepaid-card rules (docs/regulations.md, rules 16–18) as data, keyed by region code and industry.

A rule applies to a product when any store in its scope lies in the rule's region (the store's GB/T
2260 code starts with the rule's prefix: 11 Beijing, 31 Shanghai) and, for an industry rule, the
merchant is in that industry; a card usable in a Beijing store must meet Beijing's rules. More
regions are more rows. The checks that read these numbers are in server/products/validation.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

#: 24 months hold at most 731 days (two years, one of them with 29 February).
MONTHS_24_MAX_DAYS = 731


@dataclass(frozen=True)
class RegionalRule:
    #: Leading digits of the GB/T 2260 region codes it covers.
    region_prefix: str
    #: How findings name it, e.g. 北京市.
    region_name: str
    #: The regulation and articles it comes from.
    source: str
    #: Merchant industries it covers (template-library codes); None: every industry.
    industries: frozenset[str] | None = None
    #: First and last day in force; None: open-ended.
    in_force_from: date | None = None
    in_force_until: date | None = None
    #: Refunds other than the cooling-off one are paid within this many days.
    refund_within_days: int | None = None
    #: Whole prepayment refundable within this many days of purchase if nothing was used.
    cooling_off_days: int | None = None
    #: The published terms must say how to cancel (退卡/退款).
    terms_state_cancellation: bool = False
    #: Holders are told at least this many days before the business closes or moves.
    closure_notice_days: int | None = None
    #: Per customer: stored value; class packages (count cards): price and sessions.
    stored_value_cap_fen: int | None = None
    count_cap_fen: int | None = None
    count_cap_uses: int | None = None
    #: Longest validity of a prepaid product (a membership's term). A membership's price cap cannot be
    #: told from a product (a membership is a count or stored-value card here), so it is not data yet.
    validity_cap_days: int | None = None

    def covers(self, region_codes: Iterable[str], industry: str | None, today: date) -> bool:
        in_force = (self.in_force_from is None or self.in_force_from <= today) and (
            self.in_force_until is None or today <= self.in_force_until)
        in_industry = self.industries is None or industry in self.industries
        in_region = any(str(code).startswith(self.region_prefix) for code in region_codes)
        return in_force and in_industry and in_region


REGIONAL_RULES: tuple[RegionalRule, ...] = (
    RegionalRule(
        "11", "北京市", "《北京市单用途预付卡管理条例》第 11、15–17、19 条",
        refund_within_days=15, cooling_off_days=7,
    ),
    RegionalRule(
        "31", "上海市", "《上海市单用途预付消费卡管理规定》第 13、17 条",
        terms_state_cancellation=True, closure_notice_days=30,
    ),
    RegionalRule(
        "31", "上海市健身行业", "沪体规文〔2025〕1号 第 8 条",
        industries=frozenset({"fitness"}), in_force_from=date(2025, 3, 1), in_force_until=date(2026, 12, 31),
        stored_value_cap_fen=500_000, count_cap_fen=2_000_000, count_cap_uses=60,
        validity_cap_days=MONTHS_24_MAX_DAYS,
    ),
)


def rules_for(region_codes: Iterable[str], industry: str | None, today: date) -> list[RegionalRule]:
    """The regional rules a product sold in stores of ``region_codes`` by a merchant in ``industry`` meets."""
    codes = list(region_codes)
    return [rule for rule in REGIONAL_RULES if rule.covers(codes, industry, today)]
