"""What one redemption sends to PostgreSQL, read off the running application rather than written down:

- its statements, captured from SQLAlchemy's cursor events while the app serves real requests
  (``capture``), with each parameter's provenance (a value an earlier statement returned, the
  presented card number, the idempotency key, or a constant), so ``bench/raw_ceiling.py`` can replay
  the same SQL through psycopg with fresh values;
- its round trips, counted by a TCP relay between the app and PostgreSQL (``RoundTripRelay``): a
  round trip is each time the client starts sending after the server has answered, whatever the
  driver batches (BEGIN, pipelined statements, COMMIT, the pool's pings all count as they travel).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text

from bench.support import CARD_SECRET, REDIS_URL, Counter, fresh_database, seed_cards
from server.direct_writes import PIPELINES_SENT


class RoundTripRelay:
    """A TCP relay to PostgreSQL on a free local port that counts round trips (client turns)."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.turns = 0
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RoundTripRelay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for writer in list(self._writers):  # each pump then ends on its own
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                await asyncio.wait(tasks, timeout=2)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), self._loop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self._writers.update((client_writer, server_writer))
        state = {"server_spoke": True}  # the first bytes the client sends start a turn

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_client: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if from_client and state["server_spoke"]:
                        self.turns += 1
                        state["server_spoke"] = False
                    elif not from_client:
                        state["server_spoke"] = True
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()
                self._writers.discard(writer)

        await asyncio.gather(pump(client_reader, server_writer, True), pump(server_reader, client_writer, False))


@dataclass
class Statement:
    """One statement as the app sent it; ``bindings`` say where each parameter's value comes from."""

    sql: str
    many: bool
    #: One binding dict per parameter set; a binding is ("const", v), ("ref", statement, column),
    #: ("card_no",), ("key",) or ("card_template", "...{card_id}...") for account names.
    bindings: list[dict[str, tuple]]
    #: The columns the statement returned (for later references), by name.
    returns: list[str] = field(default_factory=list)
    #: Sent in a pipeline of deferred writes (server/direct_writes.py): the pipeline's number, else None.
    pipeline: int | None = None


@dataclass
class Trace:
    statements: list[Statement]
    round_trips: float
    statement_count: int
    #: Index of the statement that found the card (its ``id`` fills the account names' template).
    card_statement: int


#: Ids start above this once ``_spread_sequences`` ran: a smaller integer is never a reference.
_FIRST_ID = 10_000_000


def _spread_sequences(database_url: str) -> None:
    """Move every sequence to its own distant range, so an id seen in a parameter names one row."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).scalars()
        for n, name in enumerate(sorted(sequences), start=1):
            conn.execute(text("SELECT setval(:s, :v)"), {"s": name, "v": 10_000_000 * n + 7})
    engine.dispose()


def _row_values(cursor: Any) -> dict[str, str]:
    """The first row the statement returned, as text, without consuming the cursor."""
    result = getattr(cursor, "pgresult", None)
    if result is None or not cursor.description or result.ntuples < 1:
        return {}
    values = {}
    for column, description in enumerate(cursor.description):
        raw = result.get_value(0, column)
        if raw is not None and description.name in values:
            continue
        if raw is not None:
            values[description.name] = bytes(raw).decode(errors="replace")
    return values


def _bind(value: Any, returned: list[dict[str, str]], card_no: str, key: str) -> tuple:
    if isinstance(value, bool) or value is None:
        return ("const", value)
    if isinstance(value, int):
        for index in range(len(returned) - 1, -1, -1):
            for column, seen in returned[index].items():
                if (column == "id" or column.endswith("_id")) and seen == str(value) and value > _FIRST_ID:
                    return ("ref", index, column)
        return ("const", value)
    if isinstance(value, str):
        if value == card_no:
            return ("card_no",)
        if value == key:
            return ("key",)
        return ("const", value)
    return ("const", value)


def _templated(bindings: dict[str, tuple], card_id: str | None) -> dict[str, tuple]:
    """Account names that embed the card's id ("card:123:principal") follow the replayed card."""
    if card_id is None:
        return bindings
    out = {}
    for name, binding in bindings.items():
        if binding[0] == "const" and isinstance(binding[1], str) and f"card:{card_id}:" in binding[1]:
            out[name] = ("card_template", binding[1].replace(f"card:{card_id}:", "card:{card_id}:"))
        else:
            out[name] = binding
    return out


def prepare_database(url: str, cards: int, principal_fen: int = 10_000_000) -> Counter:
    """Spread the fresh database's sequences, then seed its merchant, store, cashier and cards."""
    _spread_sequences(url)
    return seed_cards(url, cards, principal_fen=principal_fen)


def capture(url: str, counter: Counter, redemptions: int = 20, *, warm_up: int = 10,
            overrides: dict[str, Any] | None = None) -> Trace:
    """Serve ``warm_up + redemptions`` real redemptions in-process (the first cards of ``counter``)
    through a counting relay and return the last one's statements and the mean round trips per
    redemption. ``url``'s database went through ``prepare_database``."""
    from server import create_app
    from server.db import db

    with RoundTripRelay() as relay:
        relayed = url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
        app = create_app({"DATABASE_URL": relayed, "REDIS_URL": REDIS_URL, "APP_ENV": "bench", "JOBS_SCHEDULE": False,
                          "NOTIFICATIONS_AFTER_COMMIT": False, **(overrides or {})})
        client = app.test_client()
        log: list[tuple[str, Any, bool, dict[str, str], int | None]] = []
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            pipeline = conn.info.get(PIPELINES_SENT) if context is None else None
            log.append((statement, parameters, executemany, _row_values(cursor), pipeline))

        def redeem(card_no: str, key: str) -> None:
            response = client.post("/api/v1/merchant/redeem", json={
                "code": f"{card_no}:{CARD_SECRET}", "store_id": counter.store_id, "amount_fen": 1},
                headers={"Authorization": f"Bearer {counter.token}", "Idempotency-Key": key})
            if response.status_code != 200:
                raise RuntimeError(f"redemption failed during capture: {response.status_code} {response.data!r}")

        cards = counter.card_nos[: warm_up + redemptions]
        for card_no in cards[:warm_up]:
            redeem(card_no, uuid.uuid4().hex)
        relay_before = relay.turns
        for card_no in cards[warm_up:-1]:
            redeem(card_no, uuid.uuid4().hex)
        log.clear()
        card_no, key = cards[-1], uuid.uuid4().hex
        redeem(card_no, key)
        round_trips = (relay.turns - relay_before) / redemptions
        event.remove(engine, "after_cursor_execute", _after)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    statements: list[Statement] = []
    returned: list[dict[str, str]] = []
    card_id, card_statement = None, -1
    for sql, parameters, many, row, pipeline in log:
        parameter_sets = list(parameters) if many else [parameters or {}]
        bindings = [_templated({name: _bind(value, returned, card_no, key) for name, value in dict(p).items()},
                               card_id) for p in parameter_sets]
        if card_id is None and "FROM cards" in sql and "id" in row:
            card_id, card_statement = row["id"], len(statements)
        statements.append(Statement(sql, many, bindings, list(row), pipeline))
        returned.append(row)
    return Trace(statements, round_trips, len(statements), card_statement)


def describe(trace: Trace) -> str:
    """The captured statements, one line each (the report's appendix and a debugging aid)."""
    lines = []
    for n, statement in enumerate(trace.statements):
        head = " ".join(statement.sql.split())[:150]
        many = f"[many×{len(statement.bindings)}] " if statement.many else ""
        piped = f"[pipeline {statement.pipeline}] " if statement.pipeline is not None else ""
        lines.append(f"{n:2d}. {piped}{many}{head}")
    return "\n".join(lines)


if __name__ == "__main__":
    with fresh_database() as database_url:
        trace = capture(database_url, prepare_database(database_url, 30))
    print(describe(trace))
    print(f"{trace.statement_count} statements, {trace.round_trips:.2f} round trips per redemption")
    print(json.dumps([s.bindings for s in trace.statements], default=str)[:3000])
