"""Account names and their units. Pure functions, no database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.ledger.models import Unit


class CardBucket(StrEnum):
    """The four balances of a card, each an account of its own."""

    PRINCIPAL = "principal"
    BONUS = "bonus"
    POINTS = "points"
    USES = "uses"


class MerchantAccount(StrEnum):
    """A merchant's counterpart accounts."""

    WECHAT_CLEARING = "wechat_clearing"
    #: Money the merchant collected through its own systems, booked through the open API.
    EXTERNAL_CLEARING = "external_clearing"
    #: Money taken at a store's till for printed cards sold at the counter.
    TILL_CLEARING = "till_clearing"
    REVENUE = "revenue"
    PROMOTION = "promotion"
    REFUNDS = "refunds"
    POINTS_ISSUANCE = "points_issuance"
    POINTS_REDEEMED = "points_redeemed"
    USES_ISSUANCE = "uses_issuance"
    USES_REDEEMED = "uses_redeemed"


BUCKET_UNIT = {
    CardBucket.PRINCIPAL: Unit.FEN,
    CardBucket.BONUS: Unit.FEN,
    CardBucket.POINTS: Unit.POINTS,
    CardBucket.USES: Unit.USES,
}

#: The Card column that caches each bucket's balance.
BUCKET_COLUMN = {
    CardBucket.PRINCIPAL: "principal_fen",
    CardBucket.BONUS: "bonus_fen",
    CardBucket.POINTS: "points",
    CardBucket.USES: "uses_remaining",
}

MERCHANT_ACCOUNT_UNIT = {
    MerchantAccount.POINTS_ISSUANCE: Unit.POINTS,
    MerchantAccount.POINTS_REDEEMED: Unit.POINTS,
    MerchantAccount.USES_ISSUANCE: Unit.USES,
    MerchantAccount.USES_REDEEMED: Unit.USES,
}


def card_account(card_id: int, bucket: CardBucket) -> str:
    return f"card:{card_id}:{bucket.value}"


def merchant_account(merchant_id: int, name: MerchantAccount) -> str:
    return f"merchant:{merchant_id}:{name.value}"


def parse_account(account: str) -> tuple[str, int, str]:
    """Split ``card:42:principal`` into ("card", 42, "principal"); ValueError if malformed."""
    owner, _, rest = account.partition(":")
    owner_id, _, name = rest.partition(":")
    if owner not in ("card", "merchant") or not owner_id.isdigit() or not name:
        raise ValueError(f"malformed account name: {account!r}")
    valid = CardBucket if owner == "card" else MerchantAccount
    if name not in valid.__members__.values():
        raise ValueError(f"unknown {owner} account: {account!r}")
    return owner, int(owner_id), name


def account_unit(account: str) -> Unit:
    owner, _, name = parse_account(account)
    if owner == "card":
        return BUCKET_UNIT[CardBucket(name)]
    return MERCHANT_ACCOUNT_UNIT.get(MerchantAccount(name), Unit.FEN)


@dataclass(frozen=True)
class CardBalances:
    """What a card holds, one field per bucket (the card's cached columns, or recomputed from the ledger)."""

    principal_fen: int = 0
    bonus_fen: int = 0
    points: int = 0
    uses_remaining: int = 0
