"""Writes outside the unit of work, for the hot paths (redeem, top-up settlement, idempotency).

One idea: a row is written with a statement built once, and the session is then told the written
values as the row's committed state, instead of tracking a change for a later flush — the unit of
work costs more than the statement itself there. Two shapes:

- ``insert_row``: an append-only row (journal, redemption, idempotency record, audit entry);
- ``update_committed``: columns of a row this transaction holds locked (a card's cached balances).

Because the session did not track these writes, it cannot undo them in memory when a savepoint
rolls back: at a savepoint's end the objects updated since are expired, so they are read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, Update, bindparam, event, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from server.modes import LiveSharedWithTest, ModeScoped, session_mode

_T = TypeVar("_T")
_INSERTS: dict[Table, Insert] = {}
_UPDATES: dict[tuple[Table, tuple[str, ...]], Update] = {}
#: session.info key: objects ``update_committed`` wrote in the current (sub)transaction.
_UPDATED = "kabao_direct_updates"


def insert_row(session: Session, obj: _T) -> _T:
    """INSERT ``obj``'s row now and attach ``obj`` as if it had been loaded.

    Column defaults apply as usual, and a mode-scoped row takes the session's mode; RETURNING hands
    back every column, so the object is complete. Constraint violations raise here, not at a later
    flush. Pending changes are flushed first, as any ORM statement would, so rows this one refers to
    exist."""
    session.flush()
    if isinstance(obj, ModeScoped | LiveSharedWithTest) and obj.mode is None:
        obj.mode = session_mode(session).value
    mapper = sa_inspect(obj).mapper
    table = mapper.local_table
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table).returning(*table.c)
    given = obj.__dict__
    row = session.execute(
        stmt, {prop.columns[0].key: given[prop.key] for prop in mapper.column_attrs if prop.key in given}
    ).one()._mapping
    for prop in mapper.column_attrs:
        set_committed_value(obj, prop.key, row[prop.columns[0]])
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def update_committed(session: Session, obj: Any, values: Mapping[str, Any]) -> None:
    """UPDATE ``values`` (attribute → value) on ``obj``'s row, which the caller holds locked, and
    record them on ``obj`` as committed state."""
    mapper = sa_inspect(obj).mapper
    table = mapper.local_table
    (key_column,) = table.primary_key.columns
    columns = tuple(sorted(values))
    stmt = _UPDATES.get((table, columns))
    if stmt is None:
        stmt = _UPDATES[(table, columns)] = (
            update(table).where(key_column == bindparam("_key")).values({c: bindparam(f"_{c}") for c in columns})
        )
    session.execute(stmt, {"_key": getattr(obj, key_column.key), **{f"_{c}": values[c] for c in columns}})
    for column, value in values.items():
        set_committed_value(obj, column, value)
    session.info.setdefault(_UPDATED, {})[id(obj)] = (obj, columns)


@event.listens_for(Session, "after_transaction_end")
def _expire_direct_updates(session: Session, transaction: Any) -> None:
    """At a savepoint's end, expire what was written directly (a rollback would not undo it in memory)."""
    updated = session.info.pop(_UPDATED, None)
    if updated and transaction.nested:
        for obj, columns in updated.values():
            if sa_inspect(obj).persistent:
                session.expire(obj, list(columns))
