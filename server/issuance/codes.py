"""Redemption codes (兑换码): generation, binding (by the consumer or in bulk by an operator), voiding.

A code is 16 characters of a 31-letter alphabet without look-alikes (no 0/O/1/I/L), about 79 bits,
so guessing is hopeless even before the failure limits. Only its HMAC-SHA256 under CODE_HASH_KEY is
stored; the plaintext exists once, in the CSV returned at generation, and is never logged.

``batch.codes_generated`` counts the live (unused or bound) codes: generating reserves quantity
first, voiding unused codes gives it back, so a batch never has more live codes than its quantity.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from server.auth import Principal
from server.cards.events import record_card_event
from server.cards.models import Card
from server.cards.physical import bind_printed_card
from server.cards.services import issue_card
from server.consumers.models import Consumer
from server.crypto import code_hash_key, keyed_hash
from server.db import unstorable_text, utcnow
from server.errors import AppError, CodeInvalid, Conflict, SoldOut, ValidationError
from server.issuance.models import Batch, BatchStatus, CodeStatus, IssueMethod, RedemptionCode
from server.issuance.services import (
    Offer,
    audit,
    enforce_per_user_limit,
    ensure_on_sale,
    find_batch,
    get_batch,
    take_from_stock,
)
from server.ledger.models import ActorType

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
#: Most codes one request generates (they are held in memory while the CSV streams).
MAX_CODES_PER_REQUEST = 100_000
#: Rows per INSERT and lines per streamed piece of the CSV.
CHUNK = 5_000
#: Rows one bulk-bind upload may carry (all are bound in the request's transaction).
MAX_BULK_ROWS = 5_000
BULK_HEADER = ["code", "openid"]
BULK_RESULT_HEADER = ["code_suffix", "openid", "result", "card_id"]

#: Random bytes map onto the alphabet by value mod 31; bytes ≥ 248 (= 8 × 31) are dropped, so every
#: character is equally likely.
_ACCEPTED_BYTES = 256 - 256 % len(CODE_ALPHABET)
_BYTE_TO_CHAR = bytes(ord(CODE_ALPHABET[value % len(CODE_ALPHABET)]) for value in range(256))
_REJECTED_BYTES = bytes(range(_ACCEPTED_BYTES, 256))
_SEPARATORS = re.compile(r"[\s-]+")


def new_codes(count: int) -> list[str]:
    """``count`` random codes, drawn in bulk from the OS generator (100,000 in well under a second)."""
    needed = count * CODE_LENGTH
    chars = bytearray()
    while len(chars) < needed:
        chars += secrets.token_bytes(needed - len(chars) + 64).translate(_BYTE_TO_CHAR, _REJECTED_BYTES)
    text = chars[:needed].decode("ascii")
    return [text[start : start + CODE_LENGTH] for start in range(0, needed, CODE_LENGTH)]


def normalize_code(raw: str) -> str:
    """Codes are typed from print: case, spaces and dashes do not matter."""
    return _SEPARATORS.sub("", raw).upper()


def code_suffix(raw: str) -> str:
    """The last four characters: enough to recognise a code, useless to redeem it."""
    return normalize_code(raw)[-4:]


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass(frozen=True)
class CodeCounts:
    """A batch's codes by status."""

    unused: int = 0
    bound: int = 0
    void: int = 0


def code_counts(session: Session, batch_id: int) -> CodeCounts:
    rows = session.execute(
        select(RedemptionCode.status, func.count()).where(RedemptionCode.batch_id == batch_id)
        .group_by(RedemptionCode.status)
    )
    return CodeCounts(**{status: count for status, count in rows})


# --- generation --------------------------------------------------------------------------------------


def _reserve(session: Session, batch: Batch, count: int) -> None:
    """Count ``count`` more codes against the quantity with one conditional UPDATE, or refuse (409)."""
    reserved = session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.codes_generated + count <= Batch.quantity)
        .values(codes_generated=Batch.codes_generated + count)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(batch, ["codes_generated"])
    if reserved != 1:
        available = batch.quantity - batch.codes_generated
        raise Conflict(f"兑换码总数不能超过批次数量，还可生成 {available} 个", details={"available": available})


def reserve_code(session: Session, batch: Batch) -> None:
    """Count one code against the quantity for a card issued without a printed code (the open API's
    issue to a member, which counts as a code bound at once); 409 SOLD_OUT when none is left."""
    try:
        _reserve(session, batch, 1)
    except Conflict:
        raise SoldOut() from None


def generate_codes(
    session: Session, config: Mapping[str, Any], actor: Principal, batch_id: int, count: int
) -> list[str]:
    """Reserve, generate and insert ``count`` codes of a code batch; return the plaintext, to be shown once.

    Everything is written in the caller's transaction before a byte is sent: the request boundary
    commits, then the CSV streams from memory, so no client ever sees a code that was not stored."""
    batch = get_batch(session, actor.merchant_id, batch_id)
    if batch.issue_method != IssueMethod.CODE:
        raise Conflict("只有兑换码批次可以生成兑换码")
    if batch.status == BatchStatus.CLOSED:
        raise Conflict("批次已关闭")
    _reserve(session, batch, count)
    codes = new_codes(count)
    key, now = code_hash_key(config), utcnow()
    for chunk in _chunks(codes):
        session.execute(insert(RedemptionCode), [
            {"merchant_id": batch.merchant_id, "batch_id": batch.id, "code_hash": keyed_hash(key, code),
             "status": CodeStatus.UNUSED, "created_at": now}
            for code in chunk
        ])
    audit(session, actor, "codes.generate", "batch", batch.id, {"count": count})
    return codes


def codes_csv(codes: Sequence[str], on_interrupted: Callable[[], None]) -> Iterator[str]:
    """The CSV (header ``code``) in pieces of 5,000 lines.

    When the client goes away before the last piece (the server closes the stream early),
    ``on_interrupted`` runs: nobody holds a complete file, so the caller voids the whole run."""
    finished = False
    try:
        yield "code\r\n"
        for chunk in _chunks(codes):
            yield "\r\n".join(chunk) + "\r\n"
        finished = True
    finally:
        if not finished:
            on_interrupted()


# --- voiding -----------------------------------------------------------------------------------------


def void_codes(session: Session, config: Mapping[str, Any], actor: Principal, batch_id: int,
               codes: Sequence[str] | None, *, reason: str) -> int:
    """Void the batch's unused codes — those listed, or all of them when ``codes`` is None.

    Bound and unknown codes are left alone. Voided codes give their quantity back. Returns how many
    were voided; a code being bound at the same moment is either bound or voided, never both."""
    batch = get_batch(session, actor.merchant_id, batch_id)
    unused = (RedemptionCode.batch_id == batch.id, RedemptionCode.status == CodeStatus.UNUSED)

    def void(*conditions) -> int:
        return session.execute(
            update(RedemptionCode).where(*unused, *conditions).values(status=CodeStatus.VOID)
            .execution_options(synchronize_session=False)
        ).rowcount

    if codes is None:
        voided = void()
    else:
        key = code_hash_key(config)
        voided = sum(void(RedemptionCode.code_hash.in_([keyed_hash(key, normalize_code(c)) for c in chunk]))
                     for chunk in _chunks(codes))
    if voided:
        session.execute(update(Batch).where(Batch.id == batch.id)
                        .values(codes_generated=Batch.codes_generated - voided)
                        .execution_options(synchronize_session=False))
        session.expire(batch, ["codes_generated"])
    audit(session, actor, "codes.void", "batch", batch.id,
          {"voided": voided, "requested": "all" if codes is None else len(codes), "reason": reason})
    return voided


# --- binding -----------------------------------------------------------------------------------------


def bind_code(
    session: Session,
    config: Mapping[str, Any],
    *,
    code: str,
    consumer_id: int,
    actor_type: ActorType,
    actor_id: int,
    batch_id: int | None = None,
) -> tuple[Card, Offer]:
    """Issue the card a code stands for to ``consumer_id``, once.

    Unknown, used, void and other-batch codes, and codes of a batch that does not sell now, are all
    422 CODE_INVALID, so an answer reveals nothing about a code. The code is claimed with a
    conditional UPDATE (``WHERE status = 'unused'``): of concurrent binds exactly one matches.

    ``CARDNO:SECRET`` is a printed card instead: an active one nobody holds is handed to the consumer
    (``bind_printed_card``); a staff bulk bind never takes this path."""
    card_no, separator, secret = code.partition(":")
    if separator and batch_id is None:
        card = bind_printed_card(session, config, card_no=card_no, secret=secret, consumer_id=consumer_id)
        return card, find_batch(session, card.batch_id)
    code_hash = keyed_hash(code_hash_key(config), normalize_code(code))
    row = session.scalar(select(RedemptionCode).where(RedemptionCode.code_hash == code_hash))
    if row is None or row.status != CodeStatus.UNUSED or (batch_id is not None and row.batch_id != batch_id):
        raise CodeInvalid()
    offer = find_batch(session, row.batch_id)
    try:
        ensure_on_sale(offer, IssueMethod.CODE)
    except Conflict:
        raise CodeInvalid() from None
    enforce_per_user_limit(session, offer.batch, consumer_id)
    claimed = session.execute(
        update(RedemptionCode)
        .where(RedemptionCode.id == row.id, RedemptionCode.status == CodeStatus.UNUSED)
        .values(status=CodeStatus.BOUND, bound_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise CodeInvalid()
    take_from_stock(session, offer.batch)
    card = issue_card(session, config, product=offer.product, batch=offer.batch, owner_id=consumer_id,
                      paid_fen=offer.batch.price_fen, actor_type=actor_type, actor_id=actor_id)
    row.card_id = card.id
    session.flush()
    record_card_event(session, card, "card.bound")
    return card, offer


@dataclass(frozen=True)
class BindOutcome:
    """One row of a bulk-bind result: ``result`` is ``ok`` or the error code that refused it."""

    code_suffix: str
    openid: str
    result: str
    card_id: int | None = None


def parse_bulk_csv(data: bytes) -> list[tuple[str, str]]:
    """(code, openid) rows of an uploaded CSV with the header ``code,openid`` (UTF-8, BOM allowed)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "文件应为 UTF-8 编码的 CSV"}) from None
    if unstorable_text(text):
        raise ValidationError({"file": "CSV 中不能包含 NUL 字符"})
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != BULK_HEADER:
        raise ValidationError({"file": "CSV 表头应为 code,openid"})
    rows = [(row[0].strip(), row[1].strip() if len(row) > 1 else "") for row in reader if any(c.strip() for c in row)]
    if not rows:
        raise ValidationError({"file": "CSV 中没有数据行"})
    if len(rows) > MAX_BULK_ROWS:
        raise ValidationError({"file": f"每次最多导入 {MAX_BULK_ROWS} 行"})
    return rows


def bulk_bind(session: Session, config: Mapping[str, Any], actor: Principal, batch_id: int,
              rows: Sequence[tuple[str, str]]) -> list[BindOutcome]:
    """Bind each (code, openid) row of one batch for an operator; one SAVEPOINT per row, so a refused
    row leaves the others bound. The codes themselves never appear in the outcome, only their suffix."""
    batch = get_batch(session, actor.merchant_id, batch_id)
    # Written first: on SQLite a savepoint opened before the transaction's first write commits on release.
    entry = audit(session, actor, "codes.bulk_bind", "batch", batch.id, {"rows": len(rows)})
    openids = {openid for _, openid in rows}
    consumers = dict(session.execute(select(Consumer.openid, Consumer.id).where(Consumer.openid.in_(openids))).all())
    outcomes = []
    for code, openid in rows:
        consumer_id = consumers.get(openid)
        if consumer_id is None:
            outcomes.append(BindOutcome(code_suffix(code), openid, "CONSUMER_NOT_FOUND"))
            continue
        try:
            with session.begin_nested():
                card, _ = bind_code(session, config, code=code, consumer_id=consumer_id,
                                    actor_type=ActorType.STAFF, actor_id=actor.id, batch_id=batch.id)
        except AppError as error:
            outcomes.append(BindOutcome(code_suffix(code), openid, error.code))
        else:
            outcomes.append(BindOutcome(code_suffix(code), openid, "ok", card.id))
    entry.detail = {"rows": len(rows), "bound": sum(outcome.result == "ok" for outcome in outcomes)}
    return outcomes


def bulk_result_csv(outcomes: Sequence[BindOutcome]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BULK_RESULT_HEADER)
    writer.writerows([o.code_suffix, o.openid, o.result, o.card_id or ""] for o in outcomes)
    return out.getvalue()
