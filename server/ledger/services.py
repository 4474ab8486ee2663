"""Posting journals, locking cards, and checking the cached balances against the entries.

Every change of value goes through ``post_journal``: it refuses unbalanced journals, locks the
cards it touches in primary-key order, refuses to drive a card balance negative, and updates the
cached balances in the same transaction as the entries. It only flushes; the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, select
from sqlalchemy.orm import Session

from server.cards.models import Card
from server.db import utcnow
from server.direct_writes import RowShape, insert_row, queue_write, read_row, update_committed
from server.errors import InsufficientBalance, InsufficientPoints, InsufficientUses, NotFound
from server.ledger.accounts import (
    BUCKET_COLUMN,
    CardBalances,
    CardBucket,
    MerchantAccount,
    account_unit,
    card_account,
    merchant_account,
    parse_account,
)
from server.ledger.models import ActorType, Journal, JournalKind, LedgerEntry, Unit
from server.modes import session_mode

_SHORTFALL_ERRORS = {Unit.FEN: InsufficientBalance, Unit.POINTS: InsufficientPoints, Unit.USES: InsufficientUses}


class UnbalancedJournal(ValueError):
    """A journal whose entries do not sum to zero per unit: a programming error, never booked."""


@dataclass(frozen=True)
class Posting:
    """One intended entry: ``amount`` units into ``account`` (negative: out of it)."""

    account: str
    amount: int


def transfer(source: str, target: str, amount: int) -> list[Posting]:
    """The pair of postings that moves ``amount`` from ``source`` to ``target``; none for zero."""
    return [Posting(source, -amount), Posting(target, amount)] if amount else []


def card_to_merchant(
    card_id: int, merchant_id: int, legs: Iterable[tuple[CardBucket, MerchantAccount, int]]
) -> list[Posting]:
    """Postings that move each leg's amount out of the card's bucket into the merchant's account
    (a negative amount moves it the other way)."""
    return [posting for bucket, counterpart, amount in legs
            for posting in transfer(card_account(card_id, bucket), merchant_account(merchant_id, counterpart), amount)]


def check_balanced(postings: Sequence[Posting]) -> dict[str, Unit]:
    """Validate postings and return each account's unit; raise UnbalancedJournal if they don't net to 0."""
    if len(postings) < 2:
        raise UnbalancedJournal("a journal needs at least two entries")
    units: dict[str, Unit] = {}
    totals: dict[Unit, int] = defaultdict(int)
    for posting in postings:
        if type(posting.amount) is not int or posting.amount == 0:
            raise UnbalancedJournal(f"amount must be a non-zero integer: {posting!r}")
        unit = units[posting.account] = account_unit(posting.account)
        totals[unit] += posting.amount
    unbalanced = {unit.value: total for unit, total in totals.items() if total}
    if unbalanced:
        raise UnbalancedJournal(f"entries do not sum to zero: {unbalanced}")
    return units


#: Entries are booked with one plain multi-row INSERT, built once.
_INSERT_ENTRIES = insert(LedgerEntry.__table__)


def lock_cards(session: Session, card_ids: Iterable[int]) -> dict[int, Card]:
    """Lock the cards' rows (``SELECT … FOR UPDATE``) in primary-key order, so lockers never deadlock.

    The rows are re-read, so the balances seen afterwards are the committed ones. Hand the result to
    ``post_journal`` (``locked=``) so it does not lock them again.
    """
    wanted = sorted(set(card_ids))
    if not wanted:
        return {}
    stmt = select(Card).where(Card.id.in_(wanted)).order_by(Card.id).with_for_update(of=Card)
    locked = {card.id: card for card in session.scalars(stmt, execution_options={"populate_existing": True})}
    missing = set(wanted) - locked.keys()
    if missing:
        raise NotFound(f"卡不存在: {sorted(missing)}")
    return locked


def card_lock_row(*also: Any) -> tuple[RowShape, Select]:
    """The shape and the statement ``lock_card_row`` runs: ``SELECT card, *also … FOR UPDATE OF card``
    in the session's mode. Callers add their joins and criteria (as bind parameters) and keep both:
    building a statement costs more than running it."""
    shape = RowShape(Card, *also)
    return shape, shape.select().select_from(Card).where(Card.mode == bindparam("mode")).with_for_update(of=Card)


def lock_card_row(session: Session, shape: RowShape, stmt: Select, params: Mapping[str, Any]) -> tuple | None:
    """Run ``stmt`` (from ``card_lock_row``) with ``params``, locking the one card it finds.

    For the redemption path, where the presented code names one card: looking it up, locking it and
    reading what its rules need are one statement, not several — run on the driver (``read_row``),
    in the round trip of the writes deferred before it.
    """
    return read_row(session, shape, stmt, {**params, "mode": session_mode(session).value})


def post_journal(
    session: Session,
    *,
    merchant_id: int,
    kind: JournalKind,
    postings: Sequence[Posting],
    actor_type: ActorType,
    actor_id: int | None = None,
    store_id: int | None = None,
    ref_type: str | None = None,
    ref_id: int | None = None,
    idempotency_key: str | None = None,
    reverses_journal_id: int | None = None,
    memo: str | None = None,
    locked: Mapping[int, Card] | None = None,
    journal_id: int | None = None,
    defer: bool = False,
) -> Journal:
    """Book one balanced journal and update the cached balances of the cards it touches.

    The cards' rows are locked first, unless ``locked`` already holds them (from ``lock_cards`` or
    ``lock_card_row`` in this transaction). ``defer``: the writes go out with the transaction's
    COMMIT (server/direct_writes.py), the journal under ``journal_id`` (reserved by the caller; without
    one it is written at once) — the balances were checked under the lock, so nothing there can fail."""
    units = check_balanced(postings)
    card_legs: list[tuple[Posting, int, CardBucket]] = []
    for posting in postings:
        owner, owner_id, name = parse_account(posting.account)
        if owner == "merchant" and owner_id != merchant_id:
            raise UnbalancedJournal(f"{posting.account} belongs to another merchant")
        if owner == "card":
            card_legs.append((posting, owner_id, CardBucket(name)))

    locked = locked or {}
    cards = {**lock_cards(session, {card_id for _, card_id, _ in card_legs} - locked.keys()), **locked}
    balance_after: dict[str, int] = {}
    for posting, card_id, bucket in card_legs:
        card = cards[card_id]
        if card.merchant_id != merchant_id:
            raise UnbalancedJournal(f"card {card_id} belongs to another merchant")
        available = balance_after.get(posting.account, getattr(card, BUCKET_COLUMN[bucket]))
        if available + posting.amount < 0:
            raise _SHORTFALL_ERRORS[units[posting.account]](
                details={"card_id": card_id, "available": available, "requested": -posting.amount}
            )
        balance_after[posting.account] = available + posting.amount
    # Every leg fits, so write them all: the rows are locked, so what is written is the stored value.
    written: dict[int, dict[str, int]] = defaultdict(dict)
    for posting, card_id, bucket in card_legs:
        written[card_id][BUCKET_COLUMN[bucket]] = balance_after[posting.account]
    for card_id in sorted(written):
        update_committed(session, cards[card_id], written[card_id], defer=defer)

    now = utcnow()
    journal = insert_row(session, Journal(
        id=journal_id,
        merchant_id=merchant_id,
        kind=kind,
        actor_type=actor_type,
        actor_id=actor_id,
        store_id=store_id,
        ref_type=ref_type,
        ref_id=ref_id,
        idempotency_key=idempotency_key,
        reverses_journal_id=reverses_journal_id,
        memo=memo,
        created_at=now,
    ), defer=defer and journal_id is not None)
    entries = []
    for posting in postings:
        _, owner_id, bucket = parse_account(posting.account)
        entries.append({
            "journal_id": journal.id,
            "merchant_id": merchant_id,
            "mode": journal.mode,
            "account": posting.account,
            "bucket": bucket,
            "kind": kind,
            "store_id": store_id,
            "card_id": owner_id if posting.account in balance_after else None,
            "unit": units[posting.account],
            "amount": posting.amount,
            "balance_after": balance_after.get(posting.account),
            "created_at": now,
        })
    if defer:
        queue_write(session, _INSERT_ENTRIES, entries)
    else:
        session.execute(_INSERT_ENTRIES, entries)
    return journal


def reverse_journal(
    session: Session,
    journal: Journal,
    *,
    actor_type: ActorType,
    actor_id: int | None,
    store_id: int | None = None,
    ref_type: str | None = None,
    ref_id: int | None = None,
    idempotency_key: str | None = None,
    memo: str | None = None,
) -> Journal:
    """Book the exact opposite of ``journal``; a journal can be reversed only once (unique constraint)."""
    postings = [Posting(entry.account, -entry.amount) for entry in journal.entries]
    return post_journal(
        session,
        merchant_id=journal.merchant_id,
        kind=JournalKind.REVERSE,
        postings=postings,
        actor_type=actor_type,
        actor_id=actor_id,
        store_id=store_id if store_id is not None else journal.store_id,
        ref_type=ref_type or journal.ref_type,
        ref_id=ref_id if ref_id is not None else journal.ref_id,
        idempotency_key=idempotency_key,
        reverses_journal_id=journal.id,
        memo=memo,
    )


def _bucket_sums():
    """Per-card SQL sums of each bucket's entries."""
    return [
        func.coalesce(func.sum(case((LedgerEntry.bucket == bucket.value, LedgerEntry.amount), else_=0)), 0)
        .label(column)
        for bucket, column in BUCKET_COLUMN.items()
    ]


def card_balances_from_ledger(session: Session, card_id: int) -> CardBalances:
    """Recompute a card's balances from its entries alone (the truth the cache must match)."""
    row = session.execute(select(*_bucket_sums()).where(LedgerEntry.card_id == card_id)).one()
    return CardBalances(**{column: int(row._mapping[column]) for column in BUCKET_COLUMN.values()})


@dataclass(frozen=True)
class Drift:
    """One inconsistency found by ``verify_ledger``."""

    kind: str  # "unbalanced_journal" or "card_balance"
    ref_id: int
    detail: str


def balances_after(session: Session, card_id: int, journal_id: int) -> CardBalances:
    """What the card held right after ``journal_id``: each bucket's ``balance_after`` on its latest
    entry up to that journal (a bucket with no entry yet held nothing)."""
    latest = (
        select(func.max(LedgerEntry.id).label("id"))
        .where(LedgerEntry.card_id == card_id, LedgerEntry.journal_id <= journal_id)
        .group_by(LedgerEntry.bucket)
        .subquery()
    )
    rows = session.execute(select(LedgerEntry.bucket, LedgerEntry.balance_after)
                           .join(latest, LedgerEntry.id == latest.c.id)).tuples().all()
    return CardBalances(**{BUCKET_COLUMN[CardBucket(bucket)]: int(balance or 0) for bucket, balance in rows})


def verify_ledger(session: Session) -> list[Drift]:
    """Check that every journal balances per unit and every card's cache equals its entries."""
    drifts: list[Drift] = []
    unbalanced = session.execute(
        select(LedgerEntry.journal_id, LedgerEntry.unit, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.journal_id, LedgerEntry.unit)
        .having(func.sum(LedgerEntry.amount) != 0)
        .order_by(LedgerEntry.journal_id)
    )
    for journal_id, unit, total in unbalanced:
        drifts.append(Drift("unbalanced_journal", journal_id, f"{unit} entries sum to {total}"))

    sums = (
        select(LedgerEntry.card_id, *_bucket_sums())
        .where(LedgerEntry.card_id.is_not(None))
        .group_by(LedgerEntry.card_id)
        .subquery()
    )
    columns = list(BUCKET_COLUMN.values())
    rows = session.execute(
        select(Card.id, *(getattr(Card, c) for c in columns), *(func.coalesce(sums.c[c], 0) for c in columns))
        .outerjoin(sums, sums.c.card_id == Card.id)
        .order_by(Card.id)
    )
    for row in rows:
        cached, ledger = row[1 : 1 + len(columns)], row[1 + len(columns) :]
        mismatched = [
            f"{column}: cached {c} ≠ ledger {int(s)}"
            for column, c, s in zip(columns, cached, ledger, strict=True)
            if c != int(s)
        ]
        if mismatched:
            drifts.append(Drift("card_balance", row[0], "; ".join(mismatched)))
    return drifts
