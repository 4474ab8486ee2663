"""Writes outside the unit of work, for the hot paths (redeem, top-up settlement, idempotency).

One idea: a row is written with a statement built once, and the session is then told the written
values as the row's committed state, instead of tracking a change for a later flush — the unit of
work costs more than the statement itself there. Two shapes:

- ``insert_row``: an append-only row (journal, redemption, idempotency record, audit entry);
- ``update_committed``: columns of a row this transaction holds locked (a card's cached balances).

Both take ``defer=True``: the statement is then queued on the connection instead of sent, and the
queue goes out in one round trip (psycopg's pipeline mode) together with the transaction's COMMIT —
or earlier, just before any other statement runs on the connection, so every read still sees every
write before it (``send_queued`` sends it on demand, e.g. to learn of a constraint violation now).
A deferred insert needs its primary key given (``reserve_ids`` hands out ids in a read the caller
makes anyway) and gets no RETURNING: the object holds what was written, column defaults applied.
A rollback drops the queue; inside a savepoint nothing is deferred.

And one read, ``read_row``: the hottest SELECT (the redemption's locked read) run on the driver and its
row turned into ORM objects as if loaded — ORM execution costs five times the statement there — sent in
the same round trip as the deferred writes before it. Being outside the ORM, the statement is not
mode-walled for it: it names the mode itself (server/modes.py).

Because the session did not track these writes, it cannot undo them in memory when a savepoint
rolls back: at a savepoint's end the objects updated since are expired, so they are read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any, ClassVar, TypeVar

from psycopg.pq import TransactionStatus
from sqlalchemy import BigInteger, Insert, Select, Table, Update, bindparam, event, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from server.modes import LiveSharedWithTest, ModeScoped, session_mode

_T = TypeVar("_T")
_INSERTS: dict[Table, Insert] = {}
_UPDATES: dict[tuple[Table, tuple[str, ...]], Update] = {}
#: session.info key: objects ``update_committed`` wrote in the current (sub)transaction.
_UPDATED = "kabao_direct_updates"
#: Connection.info key: the deferred statements, [(statement, parameter rows)], in order.
_QUEUE = "kabao_queued_writes"
#: Connection.info key: how many pipelines of deferred writes went out on the connection.
PIPELINES_SENT = "kabao_pipelines_sent"
#: (statement, dialect name, parameter names) → (SQL text, compiled form), built once.
_COMPILED: dict[tuple[Any, str, tuple[str, ...]], tuple[str, Any]] = {}


def insert_row(session: Session, obj: _T, *, defer: bool = False) -> _T:
    """INSERT ``obj``'s row and attach ``obj`` as if it had been loaded.

    Column defaults apply as usual, and a mode-scoped row takes the session's mode. Sent now,
    RETURNING hands back every column, so the object is complete, and constraint violations raise
    here, not at a later flush; deferred (``defer=True``), it goes out with the next statement or the
    COMMIT, and ``obj`` is attached only if its primary key was given. Pending changes are flushed
    first, as any ORM statement would, so rows this one refers to exist."""
    session.flush()
    if isinstance(obj, ModeScoped | LiveSharedWithTest) and obj.mode is None:
        obj.mode = session_mode(session).value
    mapper = sa_inspect(obj).mapper
    table, columns, key = _layout(mapper)
    given = obj.__dict__
    values = {column: given[attribute] for attribute, column in columns if attribute in given}
    if values.get(key) is None:  # id=None (none reserved) is the database's to choose, not a NULL
        values.pop(key, None)
    if defer:
        row = {**_python_defaults(table, values), **values}
        _enqueue(session, _INSERTS.setdefault(table, insert(table)), [row])
        if key not in row:
            return obj  # its id is the database's to choose: the object stays detached from the session
        # As the ORM's loader fills an object; make_transient_to_detached then marks it all committed.
        given.update({attribute: row.get(column) for attribute, column in columns})
    else:
        stmt = _RETURNING_INSERTS.get(table)
        if stmt is None:
            stmt = _RETURNING_INSERTS[table] = insert(table).returning(*table.c)
        returned = session.execute(stmt, values).one()._mapping
        for attribute, column in columns:
            set_committed_value(obj, attribute, returned[column])
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


_RETURNING_INSERTS: dict[Table, Insert] = {}
#: mapper → (its table, (attribute key, column key) pairs, primary-key column key), read once.
_LAYOUTS: dict[Mapper, tuple[Table, list[tuple[str, str]], str]] = {}
#: table → its client-side column defaults (column key, default), read once.
_DEFAULTS: dict[Table, list[tuple[str, Any]]] = {}


def _layout(mapper: Mapper) -> tuple[Table, list[tuple[str, str]], str]:
    found = _LAYOUTS.get(mapper)
    if found is None:
        table = mapper.local_table
        found = _LAYOUTS[mapper] = (table, [(prop.key, prop.columns[0].key) for prop in mapper.column_attrs],
                                    table.primary_key.columns[0].key)
    return found


def _python_defaults(table: Table, given: Mapping[str, Any]) -> dict[str, Any]:
    """The client-side column defaults a deferred INSERT would have had SQLAlchemy fill in."""
    defaults = _DEFAULTS.get(table)
    if defaults is None:
        defaults = _DEFAULTS[table] = [(column.key, column.default) for column in table.c
                                       if column.default is not None and not column.primary_key
                                       and (column.default.is_scalar or column.default.is_callable)]
    # SQLAlchemy wraps a plain default function to take an execution context.
    return {key: default.arg if default.is_scalar else default.arg(None)
            for key, default in defaults if key not in given}


def update_committed(session: Session, obj: Any, values: Mapping[str, Any], *, defer: bool = False) -> None:
    """UPDATE ``values`` (attribute → value) on ``obj``'s row, which the caller holds locked, and
    record them on ``obj`` as committed state (``defer``: sent with the next statement or the COMMIT)."""
    mapper = sa_inspect(obj).mapper
    table = mapper.local_table
    (key_column,) = table.primary_key.columns
    columns = tuple(sorted(values))
    stmt = _UPDATES.get((table, columns))
    if stmt is None:
        stmt = _UPDATES[(table, columns)] = (
            update(table).where(key_column == bindparam("_key")).values({c: bindparam(f"_{c}") for c in columns})
        )
    params = {"_key": getattr(obj, key_column.key), **{f"_{c}": values[c] for c in columns}}
    if defer:
        queue_write(session, stmt, [params])
    else:
        session.execute(stmt, params)
    for column, value in values.items():
        set_committed_value(obj, column, value)
    session.info.setdefault(_UPDATED, {})[id(obj)] = (obj, columns)


class _NextId(FunctionElement):
    """The next value of a table's primary-key sequence (PostgreSQL); NULL elsewhere."""

    type = BigInteger()
    inherit_cache = True
    #: The table is part of the statement's cache key (two tables' ids never share a compiled form).
    _traverse_internals: ClassVar = [("table_name", InternalTraversal.dp_string)]

    def __init__(self, table: Table) -> None:
        self.table_name = table.name
        super().__init__()


@compiles(_NextId, "postgresql")
def _next_id_postgresql(element: _NextId, compiler: Any, **kw: Any) -> str:
    return f"nextval(pg_get_serial_sequence('{element.table_name}', 'id'))"


@compiles(_NextId)
def _next_id_elsewhere(element: _NextId, compiler: Any, **kw: Any) -> str:
    return "NULL"


def reserve_ids(*tables: Table) -> list[ColumnElement]:
    """Columns that draw a new primary key for each table from its sequence, to add to a SELECT the
    caller runs anyway (so deferred inserts know their ids without a round trip of their own).
    NULL where the database has no sequences (SQLite): the insert is then sent at once."""
    return [_NextId(table).label(f"next_{table.name}_id") for table in tables]


def queue_write(session: Session, stmt: Insert | Update, rows: Sequence[Mapping[str, Any]]) -> None:
    """Defer ``stmt`` (no RETURNING) with ``rows`` to the next statement or the COMMIT; inside a
    savepoint, which may roll back on its own, it is sent at once. Inserts get their client-side
    column defaults here, as SQLAlchemy would have filled them in."""
    if isinstance(stmt, Insert):
        rows = [{**_python_defaults(stmt.table, row), **row} for row in rows]
    _enqueue(session, stmt, rows)


def _enqueue(session: Session, stmt: Insert | Update, rows: Sequence[Mapping[str, Any]]) -> None:
    connection = session.connection()
    if connection.in_nested_transaction():
        connection.execute(stmt, list(rows))
        return
    connection.info.setdefault(_QUEUE, []).append((stmt, list(rows)))


def send_queued(session: Session) -> None:
    """Send the deferred statements now, in one round trip (with the BEGIN, if none has gone yet)."""
    _send(session.connection(), commit=False)


def _compiled(stmt: Any, connection: Connection, row: Mapping[str, Any]) -> tuple[str, Any]:
    key = (stmt, connection.dialect.name, tuple(sorted(row)))
    found = _COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(dialect=connection.dialect, column_keys=list(key[2]))
        found = _COMPILED[key] = (compiled.string, compiled)
    return found


def _driver_params(compiled: Any, row: Mapping[str, Any], positional: bool) -> Any:
    params = compiled.construct_params(row)
    processors = compiled._bind_processors
    params = {name: processors[name](value) if name in processors else value for name, value in params.items()}
    return tuple(params[name] for name in compiled.positiontup) if positional else params


def _send(connection: Connection, *, commit: bool, read: tuple[Select, Mapping[str, Any]] | None = None) -> Any:
    """The queue in one pipeline (psycopg), and the COMMIT with it when ``commit``, or the ``read``
    (statement, parameters) behind it, whose first row is returned."""
    queued = connection.info.pop(_QUEUE, None) or []
    if not queued and read is None:
        return None
    driver = connection.connection.driver_connection
    pipelined = hasattr(driver, "pipeline")
    batches = []
    for stmt, rows in queued:
        sql, compiled = _compiled(stmt, connection, rows[0])
        batches.append((sql, [_driver_params(compiled, row, connection.dialect.positional) for row in rows]))
    if read is not None:
        read_sql, compiled = _compiled(read[0], connection, read[1])
        read_params = _driver_params(compiled, read[1], connection.dialect.positional)
    sql = reader = None
    # psycopg sends its own BEGIN and waits for it before the first statement of a transaction, even in a
    # pipeline: when the queue opens the transaction, its BEGIN goes into the pipeline instead.
    begin = pipelined and not driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
    try:
        with driver.pipeline() if pipelined else nullcontext():
            cursor = driver.cursor()
            if begin:
                driver._autocommit = True  # for the next statement only: psycopg adds no BEGIN of its own
                cursor.execute(driver._get_tx_start_command())
                driver._autocommit = False  # the transaction is open: psycopg refuses to flip it here itself
            for sql, params in batches:
                cursor.executemany(sql, params)
            if read is not None:
                sql, reader = read_sql, driver.cursor()
                reader.execute(read_sql, read_params)
            if commit and pipelined:
                sql = "COMMIT"  # behind the writes: the pipeline's one sync sends them all at once
                cursor.execute(sql)
        row = reader.fetchone() if reader is not None else None
    except connection.dialect.loaded_dbapi.Error as error:
        invalidated = connection.dialect.is_disconnect(error, driver, None)
        if invalidated:
            connection.invalidate(error)  # as SQLAlchemy does for its own statements: the pool reconnects
        raise DBAPIError.instance(sql, None, error, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated) from error
    finally:
        if begin and not driver.closed:
            driver._autocommit = False
    # Tools that watch the statements (echo, bench/sqltrace.py) see these too, one pipeline numbered
    # by PIPELINES_SENT; they carry no execution context.
    connection.info[PIPELINES_SENT] = connection.info.get(PIPELINES_SENT, 0) + 1
    for sql, params in batches:
        connection.dispatch.after_cursor_execute(connection, cursor, sql, params, None, True)
    if reader is not None:
        connection.dispatch.after_cursor_execute(connection, reader, read_sql, read_params, None, False)
    return row


class RowShape:
    """The columns of a SELECT that ``read_row`` turns back into ORM objects: for each mapped class among
    ``items`` its mapped columns, for anything else the expression itself, in ``items``' order."""

    def __init__(self, *items: Any) -> None:
        self.columns: list[Any] = []
        #: (mapper or None for a plain value, first column's position, its attribute keys, primary-key keys)
        self._parts: list[tuple[Mapper | None, int, list[str], list[str]]] = []
        for item in items:
            mapper = sa_inspect(item, raiseerr=False) if isinstance(item, type) else None
            if isinstance(mapper, Mapper):
                props = list(mapper.column_attrs)
                identity = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
                self._parts.append((mapper, len(self.columns), [prop.key for prop in props], identity))
                self.columns.extend(prop.columns[0] for prop in props)
            else:
                self._parts.append((None, len(self.columns), [], []))
                self.columns.append(item)
        self._processors: dict[str, list[Any]] = {}

    def select(self) -> Select:
        """``SELECT`` these columns: add joins and criteria (bind parameters), and keep the statement."""
        return select(*self.columns)

    def values(self, session: Session, row: Sequence[Any], dialect: Any) -> tuple[Any, ...]:
        processors = self._processors.get(dialect.name)
        if processors is None:
            processors = self._processors[dialect.name] = [
                column.type.dialect_impl(dialect).result_processor(dialect, None) for column in self.columns]
        row = [value if process is None else process(value) for process, value in zip(processors, row, strict=True)]
        return tuple(
            _loaded(session, mapper, dict(zip(keys, row[start:start + len(keys)], strict=True)), identity)
            if mapper is not None else row[start]
            for mapper, start, keys, identity in self._parts)


def _loaded(session: Session, mapper: Mapper, values: dict[str, Any], identity_keys: list[str]) -> Any:
    """The session's object for this row, its attributes set as committed (``populate_existing``)."""
    identity = [values[key] for key in identity_keys]
    if None in identity:
        return None  # an outer join that found nothing
    obj = session.identity_map.get(mapper.identity_key_from_primary_key(identity))
    if obj is not None:
        for key, value in values.items():
            set_committed_value(obj, key, value)
        return obj
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)  # as the ORM's loader fills a new object; the next line marks it committed
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def read_row(session: Session, shape: RowShape, stmt: Select, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Run ``stmt`` (from ``shape.select()``) with ``params`` on the driver, in one round trip with the
    deferred writes, and return its first row as ``shape`` says, or None."""
    session.flush()
    connection = session.connection()
    row = _send(connection, commit=False, read=(stmt, params))
    return None if row is None else shape.values(session, row, connection.dialect)


@event.listens_for(Engine, "before_execute")
def _send_before_any_statement(connection: Connection, *args: Any) -> None:
    if connection.info.get(_QUEUE):  # reads see every write before them
        _send(connection, commit=False)


@event.listens_for(Engine, "commit")
def _send_with_the_commit(connection: Connection) -> None:
    if connection.info.get(_QUEUE):
        _send(connection, commit=True)  # the DBAPI commit that follows finds the transaction ended


@event.listens_for(Engine, "rollback")
def _drop_the_queue(connection: Connection) -> None:
    if not connection.invalidated:  # a lost connection took its queue with it (and has no info to ask)
        connection.info.pop(_QUEUE, None)


@event.listens_for(Session, "after_transaction_end")
def _expire_direct_updates(session: Session, transaction: Any) -> None:
    """At a savepoint's end, expire what was written directly (a rollback would not undo it in memory)."""
    updated = session.info.pop(_UPDATED, None)
    if updated and transaction.nested:
        for obj, columns in updated.values():
            if sa_inspect(obj).persistent:
                session.expire(obj, list(columns))
