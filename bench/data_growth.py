"""Cost as data grows: the same measurements over 10 thousand, 1 million and (BENCH_10M=1, `make
bench-10m`) 10 million ledger entries, bulk-loaded with generate_series in the database (never
through the app): redemption throughput and p99 (32 closed-loop clients through gunicorn), the
30-day summary report, and `flask verify-ledger`'s time and peak memory.

The loaded history: journals at a constant 5,000 a day (10,000 entries), back from now — a bigger
ledger is a longer history, not a busier day: 10 M entries are about 1,000 days. A third are top-ups
(into a card's principal or bonus, from WeChat clearing), two thirds redemptions (out of a principal,
into revenue), over 1,000 cards and three stores; the cards' cached balances are then set from their entries, so
verify-ledger has everything to check and finds it consistent.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta

import psycopg

from bench.sqltrace import prepare_database
from bench.support import (
    CARD_SECRET,
    QUICK,
    REDIS_URL,
    CpuMeter,
    database_name,
    fresh_database,
    gunicorn,
    require_clean_ledger,
    wrk,
)

SIZES = [10_000, 1_000_000] + ([10_000_000] if os.environ.get("BENCH_10M", "") not in ("", "0") else [])
CARDS = 1000
#: Journals a day in the loaded history (two entries each).
JOURNALS_PER_DAY = 5000
SECONDS = int(os.environ.get("BENCH_SECONDS", "6" if QUICK else "15"))
RUNS = 7
#: Closed-loop runs per size; the median one is reported (a single run varies by ±15 % here).
REDEEM_RUNS = 3
HERE = os.path.dirname(__file__)

_JOURNALS = """
INSERT INTO journals (merchant_id, mode, kind, actor_type, store_id, created_at)
SELECT %(merchant)s, 'live', CASE WHEN g %% 3 = 0 THEN 'top_up' ELSE 'redeem' END, 'staff',
       CASE WHEN g %% 3 = 0 THEN NULL ELSE (%(stores)s::bigint[])[1 + g %% 3] END,
       now() - (g::bigint * 86400 / %(per_day)s) * interval '1 second' - interval '1 minute'
FROM generate_series(1, %(journals)s) AS g
"""
_ENTRIES = """
INSERT INTO ledger_entries (journal_id, merchant_id, mode, account, bucket, kind, store_id, card_id, unit,
                            amount, created_at)
SELECT j.id, j.merchant_id, 'live', leg.account, leg.bucket, j.kind, j.store_id, leg.card_id, 'fen', leg.amount,
       j.created_at
FROM (
    SELECT j.*, (%(cards)s::bigint[])[1 + j.id %% %(card_count)s] AS card,
           CASE WHEN j.kind = 'top_up' THEN 100 + (j.id * 7919) %% 9900 ELSE 1 + (j.id * 7919) %% 99 END AS amount,
           CASE WHEN j.kind = 'top_up' AND j.id %% 5 = 0 THEN 'bonus' ELSE 'principal' END AS card_bucket
    FROM journals j WHERE j.id >= %(first)s
) AS j
CROSS JOIN LATERAL (VALUES
    ('card:' || j.card || ':' || j.card_bucket, j.card_bucket, j.card,
     CASE WHEN j.kind = 'top_up' THEN j.amount ELSE -j.amount END),
    ('merchant:' || j.merchant_id || CASE WHEN j.kind = 'top_up' THEN ':wechat_clearing' ELSE ':revenue' END,
     CASE WHEN j.kind = 'top_up' THEN 'wechat_clearing' ELSE 'revenue' END, NULL::bigint,
     CASE WHEN j.kind = 'top_up' THEN -j.amount ELSE j.amount END)
) AS leg(account, bucket, card_id, amount)
"""
_CACHE_FROM_ENTRIES = """
UPDATE cards SET principal_fen = s.principal, bonus_fen = s.bonus
FROM (SELECT card_id, coalesce(sum(amount) FILTER (WHERE bucket = 'principal'), 0) AS principal,
             coalesce(sum(amount) FILTER (WHERE bucket = 'bonus'), 0) AS bonus
      FROM ledger_entries WHERE card_id IS NOT NULL GROUP BY card_id) AS s
WHERE cards.id = s.card_id
"""

#: The loaded tables' indexes that back no constraint (the migrations name them ix_…).
_PLAIN_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('journals', 'ledger_entries') AND indexname LIKE 'ix\\_%'
"""


def load_entries(url: str, merchant_id: int, entries: int) -> float:
    """Bring the ledger to about ``entries`` entries; seconds spent."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        existing = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
        journals = max(0, entries - existing) // 2
        cards = [row[0] for row in conn.execute("SELECT id FROM cards WHERE merchant_id = %s ORDER BY id",
                                                (merchant_id,))]
        stores = [row[0] for row in conn.execute("SELECT id FROM stores WHERE merchant_id = %s ORDER BY id",
                                                 (merchant_id,))]
        stores = (stores * 3)[:3]
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM journals").fetchone()[0]
        with conn.transaction():
            # A bulk load as a restore does it: the generated rows are consistent by construction, so no
            # foreign-key triggers per row, and the plain indexes built once afterwards, not row by row.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            indexes = conn.execute(_PLAIN_INDEXES).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            conn.execute(_JOURNALS, {"merchant": merchant_id, "stores": stores, "journals": journals,
                                     "per_day": JOURNALS_PER_DAY})
            conn.execute(_ENTRIES, {"cards": cards, "card_count": len(cards), "first": first})
            for _, definition in indexes:
                conn.execute(definition)
            conn.execute(_CACHE_FROM_ENTRIES)
        conn.execute("VACUUM ANALYZE journals")
        conn.execute("VACUUM ANALYZE ledger_entries")
        conn.execute("VACUUM ANALYZE cards")
        conn.execute("CHECKPOINT")  # the load's dirty pages written now, not while the redemptions are measured
    return time.perf_counter() - started


def _median_ms(action) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _report(url: str, merchant_id: int) -> tuple[float, float]:
    """The 30-day summary: the first call (rolling up the closed days) and the median of later ones."""
    from server import create_app
    from server.db import db
    from server.reports.services import summary
    from server.timeutil import shanghai_today

    app = create_app({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "APP_ENV": "bench", "JOBS_SCHEDULE": False})
    with app.app_context():
        last = shanghai_today()
        first = last - timedelta(days=29)
        started = time.perf_counter()
        summary(db.session, merchant_id, first, last)
        db.session.commit()
        cold_ms = (time.perf_counter() - started) * 1000
        warm_ms = _median_ms(lambda: summary(db.session, merchant_id, first, last))
        db.session.remove()
        db.engine.dispose()
    return cold_ms, warm_ms


def measure(entries: int) -> dict:
    with fresh_database() as url:
        counter = prepare_database(url, CARDS)
        load_seconds = load_entries(url, counter.merchant_id, entries)
        with psycopg.connect(url) as conn:
            total = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as cards_file:
            cards_file.write("\n".join(counter.card_nos))
        env = {"BENCH_TOKEN": counter.token, "BENCH_STORE_ID": str(counter.store_id),
               "BENCH_SECRET": CARD_SECRET, "BENCH_CARDS": cards_file.name}
        with gunicorn(url) as (base, pids):
            wrk(base + "/api/v1/merchant/redeem", connections=32, seconds=2,
                script=os.path.join(HERE, "redeem.lua"), env=env)
            # CPU per redemption varies far less between runs than a saturated closed loop's rate does.
            with CpuMeter([database_name(url)], app_pids=pids) as meter:
                runs = [wrk(base + "/api/v1/merchant/redeem", connections=32, seconds=SECONDS,
                            script=os.path.join(HERE, "redeem.lua"), env=env) for _ in range(REDEEM_RUNS)]
            cpu = meter.per(sum(run.requests_per_second for run in runs) * SECONDS)
        if any(run.non_2xx for run in runs):
            raise RuntimeError(f"{sum(run.non_2xx for run in runs)} redemptions failed")
        redeem = sorted(runs, key=lambda run: run.requests_per_second)[REDEEM_RUNS // 2]  # the median run
        cold_ms, warm_ms = _report(url, counter.merchant_id)
        ledger = require_clean_ledger(url)
        size_mb = _database_mb(url)
    return {"entries": total, "load_s": load_seconds, "redeem": redeem, "cpu": cpu, "report_cold_ms": cold_ms,
            "report_ms": warm_ms, "ledger": ledger, "size_mb": size_mb}


def _cpu_ms(result: dict) -> float:
    """The app's and PostgreSQL's CPU per redemption together."""
    return result["cpu"]["app"] + result["cpu"]["postgres"]


def _database_mb(url: str) -> float:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(%s)", (database_name(url),)).fetchone()[0] / 2**20


def run() -> list[dict]:
    results = []
    for size in SIZES:
        results.append(measure(size))
        print(f"data growth: {size:,} entries measured: {results[-1]}", flush=True)  # a long step's progress
    smallest = results[0]
    rows = []
    for result in results:
        redeem, base = result["redeem"], smallest["redeem"]
        rows.append({
            "name": f"data growth: {result['entries']:,} ledger entries ({result['size_mb']:,.0f} MB database, "
                    f"bulk-loaded in {result['load_s']:.0f} s)",
            "figure": f"redeem (median of {REDEEM_RUNS} runs) {redeem.requests_per_second:,.0f} req/s, "
                      f"p99 {redeem.p99_ms:.1f} ms, CPU per redemption app {result['cpu']['app']:.2f} ms + "
                      f"PostgreSQL {result['cpu']['postgres']:.2f} ms; summary report "
                      f"{result['report_ms']:.0f} ms (first call {result['report_cold_ms']:,.0f} ms); verify-ledger "
                      f"{result['ledger'].seconds:.1f} s, peak {result['ledger'].peak_mb:.0f} MB",
            "baseline": f"{smallest['entries']:,} entries: {base.requests_per_second:,.0f} req/s, "
                        f"p99 {base.p99_ms:.1f} ms, CPU {_cpu_ms(smallest):.2f} ms",
            "ratio": f"throughput {redeem.requests_per_second / base.requests_per_second:.2f}, "
                     f"p99 {redeem.p99_ms / base.p99_ms:.2f}, CPU {_cpu_ms(result) / _cpu_ms(smallest):.2f}",
            "target": "throughput and p99 within 10%; report ≤ 300 ms and verify-ledger ≤ 60 s in ≤ 500 MB "
                      "at 10 M",
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
