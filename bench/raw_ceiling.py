"""The raw ceiling: the redemption's own SQL, as the app sends it (captured by bench/sqltrace.py from
real requests in this same run), replayed through psycopg with no web framework, by 32 clients in
4 processes, each transaction on a random card with a fresh idempotency key, committed durably.

The replay keeps the app's statements, their order, their parameters' data flow (ids an earlier
statement returned) and psycopg's defaults (prepared after 5 runs), so it is what PostgreSQL and a
lean client can do with the very transaction the app runs; what the app spends beyond it is the
application's own cost. Balances written are the captured ones (the replay database is scratch).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.sqltrace import Trace


def _value(binding: tuple, rows: list[dict[str, Any]], card_no: str, key: str, card_id: Any) -> Any:
    kind = binding[0]
    if kind == "const":
        return binding[1]
    if kind == "ref":
        return rows[binding[1]][binding[2]]
    if kind == "card_no":
        return card_no
    if kind == "key":
        return key
    return binding[1].format(card_id=card_id)  # card_template


def round_trips(trace: Trace) -> list[list[int]]:
    """The statements' indexes grouped as the app sends them: a pipeline of deferred writes is one
    group (one round trip), any other statement a group of its own."""
    groups: list[list[int]] = []
    for index, statement in enumerate(trace.statements):
        if statement.pipeline is not None and groups and trace.statements[groups[-1][0]].pipeline == statement.pipeline:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def replay_once(conn: psycopg.Connection, trace: Trace, card_no: str) -> None:
    """One redemption's statements on ``conn`` (autocommit: BEGIN and COMMIT are sent explicitly),
    in the app's round trips: its pipelines as pipelines, with the BEGIN and the COMMIT where the
    app sends them (in the first and last pipeline, or on their own)."""
    rows: list[dict[str, Any]] = [{} for _ in trace.statements]
    key = uuid.uuid4().hex
    card_id = None
    groups = round_trips(trace)
    with conn.cursor() as cursor:
        for number, group in enumerate(groups):
            pipelined = trace.statements[group[0]].pipeline is not None
            first, last = number == 0, number == len(groups) - 1
            with conn.pipeline() if pipelined else nullcontext():
                if first:
                    cursor.execute("BEGIN")
                for index in group:
                    statement = trace.statements[index]
                    params = [{name: _value(b, rows, card_no, key, card_id) for name, b in binding.items()}
                              for binding in statement.bindings]
                    if statement.many:
                        cursor.executemany(statement.sql, params)
                        continue
                    cursor.execute(statement.sql, params[0])
                    # A pipeline's one single statement is its read, behind the writes: fetching syncs it.
                    if pipelined or cursor.description:
                        values = cursor.fetchone()
                        if values is not None:
                            for column, value in zip((d.name for d in cursor.description), values, strict=True):
                                if rows[index].get(column) is None:  # the first non-null one of a name
                                    rows[index][column] = value
                    if index == trace.card_statement:
                        card_id = rows[index].get("id")
                if last:
                    cursor.execute("COMMIT")


@dataclass
class ReplayResult:
    transactions: int
    seconds: float
    latencies_ms: list[float]

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds


def _process(trace: Trace, url: str, card_nos: list[str], threads: int, start_at: float, seconds: float,
             prepare: bool, out: Any) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    counts = [0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = psycopg.connect(url, prepare_threshold=5 if prepare else None, autocommit=True)
        mine: list[float] = []
        time.sleep(max(0.0, start_at - time.time()))
        end = start_at + seconds
        while (now := time.time()) < end:
            replay_once(conn, trace, rng.choice(card_nos))
            mine.append((time.time() - now) * 1000)
        conn.close()
        with lock:
            counts[0] += len(mine)
            latencies.extend(mine)

    workers = [threading.Thread(target=client, args=(hash((start_at, n)),)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((counts[0], latencies))


def replay(trace: Trace, url: str, card_nos: list[str], *, clients: int = 32, processes: int = 4,
           seconds: float = 10, prepare: bool = True) -> ReplayResult:
    """``clients`` connections replaying redemptions for ``seconds``; ``prepare=False`` is psycopg
    without prepared statements (what PgBouncer 1.18's transaction pooling needs)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 1.5  # every connection is open before the clock starts
    children = [context.Process(target=_process, args=(trace, url, card_nos, clients // processes, start_at,
                                                       seconds, prepare, out)) for _ in range(processes)]
    for child in children:
        child.start()
    results = [out.get() for _ in children]
    for child in children:
        child.join()
    return ReplayResult(sum(r[0] for r in results), seconds, [ms for r in results for ms in r[1]])


def statements_summary(trace: Trace) -> str:
    """"INSERT ‖ SELECT ‖ UPDATE, INSERT, INSERT×2": the statements, a double bar between round trips
    (not "|", which would split the markdown table's cell)."""
    statements = trace.statements
    return " ‖ ".join(", ".join(statements[i].sql.split()[0] + (f"×{len(statements[i].bindings)}"
                                                                 if statements[i].many else "") for i in group)
                      for group in round_trips(trace))
