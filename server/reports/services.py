"""The summary report: outstanding liability now, and activity in a date range, from the ledger.

Activity is read as rows of (Shanghai day, journal kind, bucket, store, channel, amount): daily
roll-ups for closed days (server/reports/models.py) and a live scan of the entries for the days
still open. The totals, by_store, by_day and by_channel are all folded from those same rows, so
they always reconcile. Outstanding figures are the cards' cached balances, which verify-ledger
proves equal to the entries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth import Principal
from server.cards.models import Card, CardStatus
from server.db import utcnow
from server.errors import Forbidden
from server.issuance.models import Batch, Channel
from server.ledger.models import Journal, JournalKind, LedgerEntry
from server.merchants.models import Store
from server.merchants.services import get_store
from server.redemption.models import Redemption, RedemptionStatus
from server.reports.models import LedgerDay, LedgerDayTotal
from server.timeutil import SHANGHAI, day_bounds

#: Buckets whose entries are money on a card.
_CARD_FEN = ("principal", "bonus")
#: The merchant's accounts money arrives in: WeChat Pay, the till (physical cards), its own systems.
_CLEARING = ("wechat_clearing", "till_clearing", "external_clearing")


@dataclass
class Activity:
    """Money movements in a period, in fen."""

    top_up_fen: int = 0
    #: Money taken for the cards themselves (purchases of a batch), whatever the card kind.
    card_sale_fen: int = 0
    bonus_issued_fen: int = 0
    redeemed_principal_fen: int = 0
    redeemed_bonus_fen: int = 0
    reversed_fen: int = 0
    refunded_fen: int = 0

    @property
    def redeemed_fen(self) -> int:
        return self.redeemed_principal_fen + self.redeemed_bonus_fen

    @property
    def net_redeemed_fen(self) -> int:
        """核销 minus 冲正: what redemptions took from cards and kept."""
        return self.redeemed_fen - self.reversed_fen

    def add(self, kind: str, bucket: str, amount: int) -> None:
        """Fold one (kind, bucket) sum of entries into the figures."""
        if kind == JournalKind.TOP_UP and bucket == "principal":
            self.top_up_fen += amount
        elif kind in (JournalKind.TOP_UP, JournalKind.ISSUE, JournalKind.EXCHANGE) and bucket == "bonus":
            self.bonus_issued_fen += amount
        elif kind == JournalKind.REDEEM and bucket == "principal":
            self.redeemed_principal_fen -= amount
        elif kind == JournalKind.REDEEM and bucket == "bonus":
            self.redeemed_bonus_fen -= amount
        elif kind == JournalKind.REVERSE and bucket in _CARD_FEN:
            self.reversed_fen += amount
        elif kind == JournalKind.REFUND and bucket == "refunds":
            self.refunded_fen += amount
        elif kind == JournalKind.ISSUE and bucket in _CLEARING:
            self.card_sale_fen -= amount

    def to_dict(self) -> dict[str, int]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["redeemed_fen"] = self.redeemed_fen
        data["net_redeemed_fen"] = self.net_redeemed_fen
        return data


def _shanghai_day(session: Session) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", LedgerEntry.created_at))
    return func.date(LedgerEntry.created_at, "+8 hours")


_REPORTED_BUCKETS = ("principal", "bonus", "refunds", *_CLEARING)
#: A day is closed — its totals final — this long after it ends (no transaction runs that long).
CLOSING_MARGIN = timedelta(minutes=10)

#: One grouped row: (day, kind, bucket, store_id, channel_id, amount).
Row = tuple[date, str, str, int | None, int | None, int]


def _grouped_entries(session: Session, merchant_id: int, since: datetime, until: datetime) -> list[Row]:
    """Entries of the reported buckets in [since, until), summed per day, kind, bucket, store and channel."""
    day = _shanghai_day(session).label("day")
    stmt = (
        select(day, LedgerEntry.kind, LedgerEntry.bucket, LedgerEntry.store_id, Batch.channel_id,
               func.sum(LedgerEntry.amount))
        .select_from(LedgerEntry)
        .outerjoin(Card, Card.id == LedgerEntry.card_id)
        .outerjoin(Batch, Batch.id == Card.batch_id)
        .where(LedgerEntry.merchant_id == merchant_id, LedgerEntry.created_at >= since,
               LedgerEntry.created_at < until, LedgerEntry.bucket.in_(_REPORTED_BUCKETS))
        .group_by(day, LedgerEntry.kind, LedgerEntry.bucket, LedgerEntry.store_id, Batch.channel_id)
    )
    return [(_as_date(d), kind, bucket, store, channel, int(amount))
            for d, kind, bucket, store, channel, amount in session.execute(stmt)]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def last_closed_day(now: datetime) -> date:
    return (now - CLOSING_MARGIN).astimezone(SHANGHAI).date() - timedelta(days=1)


def ensure_rollups(session: Session, merchant_id: int, first: date, last: date) -> None:
    """Roll up the closed days in [first, last] that are not rolled up yet (once; concurrency-safe)."""
    done = set(session.scalars(select(LedgerDay.day).where(
        LedgerDay.merchant_id == merchant_id, LedgerDay.day >= first, LedgerDay.day <= last)))
    missing = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    missing = [d for d in missing if d not in done]
    if not missing:
        return
    since, until = day_bounds(missing[0], missing[-1])
    rows = [row for row in _grouped_entries(session, merchant_id, since, until) if row[0] in missing]
    try:
        with session.begin_nested():
            session.add_all(LedgerDay(merchant_id=merchant_id, day=d) for d in missing)
            session.add_all(LedgerDayTotal(merchant_id=merchant_id, day=d, kind=kind, bucket=bucket, store_id=store,
                                           channel_id=channel, amount=amount)
                            for d, kind, bucket, store, channel, amount in rows)
    except IntegrityError:
        pass  # a concurrent report rolled these days up first; its totals are the same


def _rows(session: Session, merchant_id: int, first: date, last: date, now: datetime) -> list[Row]:
    """Rolled-up totals for closed days, and a live scan for the days still open."""
    closed = min(last, last_closed_day(now))
    rows: list[Row] = []
    if first <= closed:
        ensure_rollups(session, merchant_id, first, closed)
        rows += session.execute(
            select(LedgerDayTotal.day, LedgerDayTotal.kind, LedgerDayTotal.bucket, LedgerDayTotal.store_id,
                   LedgerDayTotal.channel_id, LedgerDayTotal.amount)
            .where(LedgerDayTotal.merchant_id == merchant_id, LedgerDayTotal.day >= first,
                   LedgerDayTotal.day <= closed)
        ).tuples().all()
    open_from = max(first, closed + timedelta(days=1))
    if open_from <= last:
        rows += _grouped_entries(session, merchant_id, *day_bounds(open_from, last))
    return rows


def _issued_between(since: datetime, until: datetime) -> tuple[ColumnElement, ...]:
    """Cards issued in [since, until): a printed card when it is sold (activated), not when it is
    printed; a replacement (补办) is the same card's value, not a new card."""
    issued_at = func.coalesce(Card.activated_at, Card.created_at)
    return (issued_at >= since, issued_at < until, Card.status != CardStatus.INACTIVE,
            Card.replaces_card_id.is_(None))


def _card_sales_by_channel(session: Session, merchant_id: int, since: datetime, until: datetime,
                           store_id: int | None) -> dict[int | None, int]:
    """Card-sale income per channel: the clearing legs of the cards' opening journals (they name no
    card; their journal refers to it)."""
    stmt = (
        select(Batch.channel_id, func.sum(LedgerEntry.amount))
        .select_from(LedgerEntry)
        .join(Journal, Journal.id == LedgerEntry.journal_id)
        .join(Card, (Journal.ref_type == "card") & (Card.id == Journal.ref_id))
        .outerjoin(Batch, Batch.id == Card.batch_id)
        # The kind written into the SQL, not bound: the partial index of issue entries then serves
        # every plan, a prepared statement's generic one included.
        .where(LedgerEntry.merchant_id == merchant_id,
               LedgerEntry.kind == bindparam("issue", JournalKind.ISSUE.value, literal_execute=True),
               LedgerEntry.bucket.in_(_CLEARING), LedgerEntry.created_at >= since, LedgerEntry.created_at < until)
        .group_by(Batch.channel_id)
    )
    if store_id is not None:
        stmt = stmt.where(LedgerEntry.store_id == store_id)
    return {channel: -int(amount) for channel, amount in session.execute(stmt)}


def _rate_bp(part: int, whole: int) -> int | None:
    """part / whole in basis points (1/100 of a percent), rounded half up; None when whole is 0."""
    return (part * 10000 * 2 + whole) // (whole * 2) if whole else None


def _channel_rows(session: Session, merchant_id: int, since: datetime, until: datetime,
                  per_channel: dict[int | None, Activity], store_id: int | None) -> list[dict[str, Any]]:
    """Per channel (source document 003: 看出哪个渠道效果最好): the cards issued in the period, how many
    were activated and how many have been redeemed at least once since, the redemption rate, the
    acquisition cost in all and per active card, and the money the channel brought."""
    channels = {c.id: c for c in session.scalars(select(Channel).where(Channel.merchant_id == merchant_id))}
    cohort = (
        select(Batch.channel_id, func.count(Card.id), func.count(Card.activated_at))
        .select_from(Card).outerjoin(Batch, Batch.id == Card.batch_id)
        .where(Card.merchant_id == merchant_id, *_issued_between(since, until))
        .group_by(Batch.channel_id)
    )
    issued, activated = {}, {}
    for channel_id, count, active in session.execute(cohort):
        issued[channel_id], activated[channel_id] = int(count), int(active)
    redeemed = dict(session.execute(
        select(Batch.channel_id, func.count(func.distinct(Card.id)))
        .select_from(Card).outerjoin(Batch, Batch.id == Card.batch_id)
        .join(Redemption, (Redemption.card_id == Card.id) & (Redemption.status == RedemptionStatus.COMPLETED))
        .where(Card.merchant_id == merchant_id, Card.created_at >= since, Card.created_at < until)
        .group_by(Batch.channel_id)
    ).tuples().all())
    sales = _card_sales_by_channel(session, merchant_id, since, until, store_id)
    result = []
    for channel_id in sorted(set(issued) | set(per_channel) | set(sales), key=lambda c: (c is None, c or 0)):
        channel = channels.get(channel_id)
        cost = channel.cost_per_card_fen if channel else None
        activity = per_channel.get(channel_id, Activity())
        cards, active, used = issued.get(channel_id, 0), activated.get(channel_id, 0), redeemed.get(channel_id, 0)
        channel_cost = cards * (cost or 0)
        result.append({
            "channel_id": channel_id, "name": channel.name if channel else "未指定渠道",
            "kind": channel.kind if channel else None,
            "cards_issued": cards, "cards_activated": active, "cards_redeemed": used,
            "activation_rate_bp": _rate_bp(active, cards), "redemption_rate_bp": _rate_bp(used, cards),
            "cost_per_card_fen": cost, "channel_cost_fen": channel_cost,
            "cost_per_active_card_fen": (channel_cost * 2 + active) // (active * 2) if active and cost else None,
            "card_sale_fen": sales.get(channel_id, 0),
            "top_up_fen": activity.top_up_fen, "redeemed_fen": activity.redeemed_fen,
            "net_redeemed_fen": activity.net_redeemed_fen,
        })
    return result


def outstanding(session: Session, merchant_id: int) -> dict[str, int]:
    """What the merchant owes its card holders right now."""
    principal, bonus, uses = session.execute(
        select(func.coalesce(func.sum(Card.principal_fen), 0), func.coalesce(func.sum(Card.bonus_fen), 0),
               func.coalesce(func.sum(Card.uses_remaining), 0)).where(Card.merchant_id == merchant_id)
    ).one()
    return {"outstanding_principal_fen": int(principal), "outstanding_bonus_fen": int(bonus),
            "outstanding_uses": int(uses)}


def summary(
    session: Session, merchant_id: int, first: date, last: date, store_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report of docs/api.md for Shanghai days [first, last]."""
    since, until = day_bounds(first, last)
    totals = Activity()
    per_store: dict[int | None, Activity] = defaultdict(Activity)
    per_day: dict[str, Activity] = defaultdict(Activity)
    per_channel: dict[int | None, Activity] = defaultdict(Activity)
    for day, kind, bucket, entry_store, channel, amount in _rows(session, merchant_id, first, last, now or utcnow()):
        if store_id is not None and entry_store != store_id:
            continue
        targets = [totals, per_store[entry_store], per_day[day.isoformat()]]
        if bucket in _CARD_FEN:
            targets.append(per_channel[channel])
        for activity in targets:
            activity.add(kind, bucket, amount)

    store_names = dict(session.execute(select(Store.id, Store.name).where(Store.merchant_id == merchant_id)).all())
    cards_issued = session.scalar(
        select(func.count(Card.id)).where(Card.merchant_id == merchant_id, *_issued_between(since, until))
    )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "store_id": store_id,
        "cards_issued": int(cards_issued or 0),
        **totals.to_dict(),
        **outstanding(session, merchant_id),
        "by_store": [
            {"store_id": sid, "store_name": store_names.get(sid, "线上（未指定门店）"), **activity.to_dict()}
            for sid, activity in sorted(per_store.items(), key=lambda item: (item[0] is None, item[0] or 0))
        ],
        "by_channel": _channel_rows(session, merchant_id, since, until, per_channel, store_id),
        "by_day": [{"date": day, **per_day[day].to_dict()} for day in _days(first, last)],
    }


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def scoped_summary(
    session: Session, actor: Principal, first: date, last: date, store_id: int | None
) -> dict[str, Any]:
    """The summary as ``actor`` may see it: store-bound staff see only their store."""
    if actor.store_id is not None:
        if store_id not in (None, actor.store_id):
            raise Forbidden("只能查看本门店的报表")
        store_id = actor.store_id
    if store_id is not None:
        get_store(session, actor.merchant_id, store_id)
    return summary(session, actor.merchant_id, first, last, store_id)
