"""Redemption over HTTP against what PostgreSQL itself can do, in one run on one machine.

Baselines of the same run:
(a) pgbench's tpcb-like transaction at 32 clients (bench/pgbench_baseline.py);
(b) the raw ceiling: the redemption's own statements, captured from the app serving real requests
    (bench/sqltrace.py), replayed through psycopg by 32 clients without Flask (bench/raw_ceiling.py).

Then redemption through gunicorn (PostgreSQL, Redis, the load generator on the same machine):
32 closed-loop clients (wrk) over 1,000 cards, CPU per redemption by process, an open-loop constant
arrival rate at half the closed-loop maximum (bench/open_loop.py), worker models, and all of it
again through PgBouncer in transaction pooling mode with prepared statements off
(DATABASE_PREPARED_STATEMENTS=0). verify-ledger must be clean afterwards.
"""

from __future__ import annotations

import os
import tempfile

from bench import pgbench_baseline
from bench.raw_ceiling import replay, statements_summary
from bench.sqltrace import capture, prepare_database
from bench.support import (
    CARD_SECRET,
    QUICK,
    CpuMeter,
    database_copy,
    database_name,
    fresh_database,
    gunicorn,
    open_loop,
    pgbouncer,
    require_clean_ledger,
    rss_mb,
    via_port,
    wrk,
)

CARDS = 1000
CAPTURE_CARDS = 30
CONNECTIONS = 32
SECONDS = int(os.environ.get("BENCH_SECONDS", "6" if QUICK else "15"))
HERE = os.path.dirname(__file__)
NO_PREPARE = {"DATABASE_PREPARED_STATEMENTS": "0"}
#: gunicorn worker models measured beside the default (4 workers × 4 threads, gthread).
WORKER_MODELS = [("sync", 4, 1, "sync"), ("sync", 9, 1, "sync")] + (
    [] if QUICK else [("gthread", 2, 8, "gthread"), ("gthread", 8, 2, "gthread")])


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _cpu_text(cpu: dict[str, float], app: str = "app") -> str:
    parts = [f"{app} {cpu.get('app', 0):.2f} ms", f"PostgreSQL {cpu.get('postgres', 0):.2f} ms"]
    if cpu.get("redis"):
        parts.append(f"Redis {cpu['redis']:.2f} ms")
    if cpu.get("pgbouncer"):
        parts.append(f"PgBouncer {cpu['pgbouncer']:.2f} ms")
    parts.append(f"load generator {cpu.get('load', 0):.2f} ms")
    return ", ".join(parts)


def _closed_loop(base: str, env: dict[str, str], databases: list[str], pids: list[int],
                 pgbouncer_pid: int | None = None):
    with CpuMeter(databases, app_pids=pids, pgbouncer_pid=pgbouncer_pid) as meter:
        result = wrk(base + "/api/v1/merchant/redeem", connections=CONNECTIONS, seconds=SECONDS,
                     script=os.path.join(HERE, "redeem.lua"), env=env)
    if result.non_2xx:
        raise RuntimeError(f"{result.non_2xx} redemptions failed during the benchmark")
    return result, meter.per(result.requests_per_second * SECONDS)


def run() -> list[dict]:
    rows: list[dict] = []
    with pgbench_baseline.scratch_pgbench() as (pg_url, pg_name):
        pgbench_baseline.initialise(pg_url)
        pgbench = pgbench_baseline.run_pgbench(pg_url, pg_name, seconds=SECONDS)
        with pgbouncer() as (port, pid):
            pgbench_bouncer = pgbench_baseline.run_pgbench(via_port(pg_url, port), pg_name, seconds=SECONDS,
                                                           pgbouncer_pid=pid)

    with fresh_database() as url:
        counter = prepare_database(url, CARDS + CAPTURE_CARDS)
        trace = capture(url, counter, warm_up=10, redemptions=CAPTURE_CARDS - 10)
        cards = counter.card_nos[CAPTURE_CARDS:]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as cards_file:
            cards_file.write("\n".join(cards))
        env = {"BENCH_TOKEN": counter.token, "BENCH_STORE_ID": str(counter.store_id),
               "BENCH_SECRET": CARD_SECRET, "BENCH_CARDS": cards_file.name}

        # (b) the raw ceiling, on a copy: the replay writes the captured balances, not computed ones.
        with database_copy(url, "kabao_bench_raw") as (raw_url, raw_name):
            with CpuMeter([raw_name]) as meter:
                raw = replay(trace, raw_url, cards, clients=CONNECTIONS, seconds=SECONDS)
            raw_cpu = meter.per(raw.transactions)
            with pgbouncer() as (port, pid), CpuMeter([raw_name], pgbouncer_pid=pid) as meter:
                raw_bouncer = replay(trace, via_port(raw_url, port), cards, clients=CONNECTIONS, seconds=SECONDS,
                                     prepare=False)
            raw_bouncer_cpu = meter.per(raw_bouncer.transactions)

        with gunicorn(url) as (base, pids):
            wrk(base + "/api/v1/ping", connections=CONNECTIONS, seconds=2)  # warm up
            ping = wrk(base + "/api/v1/ping", connections=CONNECTIONS, seconds=SECONDS)
            wrk(base + "/api/v1/merchant/redeem", connections=CONNECTIONS, seconds=2,
                script=os.path.join(HERE, "redeem.lua"), env=env)  # warm up: every worker's statements prepared
            redeem, cpu = _closed_loop(base, env, [database_name(url)], pids)
            rate = redeem.requests_per_second / 2
            steady = open_loop(base + "/api/v1/merchant/redeem", rate, SECONDS, counter, cards_file.name)
            memory = max(rss_mb(pid) for pid in pids)
        models = []
        for label, workers, threads, worker_class in WORKER_MODELS:
            with gunicorn(url, workers=workers, threads=threads, worker_class=worker_class) as (base, pids):
                wrk(base + "/api/v1/merchant/redeem", connections=CONNECTIONS, seconds=2,
                    script=os.path.join(HERE, "redeem.lua"), env=env)
                result, model_cpu = _closed_loop(base, env, [database_name(url)], pids)
                models.append((label, workers, threads, result, model_cpu))

        with pgbouncer() as (port, bouncer_pid), gunicorn(via_port(url, port), env=NO_PREPARE) as (base, pids):
            wrk(base + "/api/v1/merchant/redeem", connections=CONNECTIONS, seconds=2,
                script=os.path.join(HERE, "redeem.lua"), env=env)
            bounced, bounced_cpu = _closed_loop(base, env, [database_name(url)], pids, bouncer_pid)
            bounced_steady = open_loop(base + "/api/v1/merchant/redeem", rate, SECONDS, counter, cards_file.name)
        ledger = require_clean_ledger(url)

    summary = statements_summary(trace)
    rows.append({
        "name": f"(a) pgbench tpcb-like, {CONNECTIONS} clients, scale {pgbench_baseline.SCALE}, {SECONDS} s",
        "figure": f"{pgbench.tps:,.0f} tps, latency avg {pgbench.latency_ms:.1f} ms; PostgreSQL CPU "
                  f"{pgbench.postgres_cpu_ms:.2f} ms/txn",
        "baseline": "—", "ratio": "—", "target": "baseline"})
    rows.append({
        "name": f"(b) raw ceiling: the redemption's {trace.statement_count} statements replayed through psycopg, "
                f"{CONNECTIONS} clients, no Flask",
        "figure": f"{raw.tps:,.0f} tps; p50 {_p(raw.latencies_ms, .5):.1f} ms, p99 {_p(raw.latencies_ms, .99):.1f} ms; "
                  f"CPU client {raw_cpu['load']:.2f} ms, PostgreSQL {raw_cpu['postgres']:.2f} ms",
        "baseline": f"pgbench {pgbench.tps:,.0f} tps",
        "ratio": f"{raw.tps / pgbench.tps:.2f}", "target": "baseline"})
    rows.append({
        "name": f"redeem over HTTP, {CONNECTIONS} closed-loop clients (wrk), {CARDS} cards, gunicorn 4×4 gthread",
        "figure": f"{redeem.requests_per_second:,.0f} req/s; p50 {redeem.p50_ms:.1f} ms, p99 {redeem.p99_ms:.1f} ms",
        "baseline": f"pgbench {pgbench.tps:,.0f} tps; raw ceiling {raw.tps:,.0f} tps",
        "ratio": f"{redeem.requests_per_second / pgbench.tps:.2f} of pgbench; "
                 f"{redeem.requests_per_second / raw.tps:.2f} of raw",
        "target": "≥ 0.25 × pgbench (goal 0.35) and ≥ 0.5 × raw"})
    rows.append({
        "name": "round trips to PostgreSQL per redemption (counted by a TCP relay; commit included)",
        "figure": f"{trace.round_trips:.1f}: {summary} (BEGIN with the first, COMMIT with "
                  f"the last; {trace.statement_count} statements)",
        "baseline": f"pgbench tpcb-like {pgbench_baseline.ROUND_TRIPS}", "ratio": "—", "target": "≤ 4"})
    rows.append({
        "name": "CPU per redemption during the closed-loop run, by process",
        "figure": _cpu_text(cpu),
        "baseline": f"raw ceiling: client {raw_cpu['load']:.2f} ms, PostgreSQL {raw_cpu['postgres']:.2f} ms; "
                    f"pgbench PostgreSQL {pgbench.postgres_cpu_ms:.2f} ms",
        "ratio": f"app ÷ PostgreSQL {cpu['app'] / max(cpu['postgres'], 1e-9):.1f}",
        "target": "about 1 ms beyond a trivial request and one pgbench transaction"})
    rows.append({
        "name": f"redeem, open loop at half the closed-loop maximum ({rate:,.0f} req/s constant arrival, {SECONDS} s)",
        "figure": f"p50 {steady['p50_ms']:.1f} ms, p99 {steady['p99_ms']:.1f} ms, max {steady['max_ms']:.0f} ms "
                  f"({steady['completed']:,} of {steady['sent']:,}, {steady['non_2xx'] + steady['errors']} failed)",
        "baseline": f"closed loop p99 {redeem.p99_ms:.1f} ms", "ratio": "—", "target": "p99 ≤ 25 ms"})
    rows.append({
        "name": "trivial endpoint GET /api/v1/ping, same server",
        "figure": f"{ping.requests_per_second:,.0f} req/s, p99 {ping.p99_ms:.1f} ms",
        "baseline": f"pgbench {pgbench.tps:,.0f} tps",
        "ratio": f"{ping.requests_per_second / pgbench.tps:.2f}",
        "target": f"stack limit ≈ 1 / (1/ping + 1/pgbench) = "
                  f"{1 / (1 / ping.requests_per_second + 1 / pgbench.tps):,.0f} req/s "
                  f"({1 / (1 / ping.requests_per_second + 1 / pgbench.tps) / pgbench.tps:.2f} × pgbench)"})
    for label, workers, threads, result, model_cpu in models:
        rows.append({
            "name": f"worker model: gunicorn {label}, {workers} worker(s) × {threads} thread(s), "
                    "32 closed-loop clients",
            "figure": f"{result.requests_per_second:,.0f} req/s; p50 {result.p50_ms:.1f} ms, "
                      f"p99 {result.p99_ms:.1f} ms; app {model_cpu['app']:.2f} ms CPU",
            "baseline": f"gthread 4×4 {redeem.requests_per_second:,.0f} req/s",
            "ratio": f"{result.requests_per_second / redeem.requests_per_second:.2f}", "target": "—"})
    rows.append({
        "name": "through PgBouncer 1.18 (transaction pooling, pool 20, prepared statements off): pgbench",
        "figure": f"{pgbench_bouncer.tps:,.0f} tps", "baseline": f"direct {pgbench.tps:,.0f} tps",
        "ratio": f"{pgbench_bouncer.tps / pgbench.tps:.2f}", "target": "—"})
    rows.append({
        "name": "through PgBouncer: raw ceiling (psycopg, prepared statements off)",
        "figure": f"{raw_bouncer.tps:,.0f} tps; PostgreSQL {raw_bouncer_cpu['postgres']:.2f} ms, "
                  f"PgBouncer {raw_bouncer_cpu['pgbouncer']:.2f} ms CPU",
        "baseline": f"direct, prepared {raw.tps:,.0f} tps; PostgreSQL {raw_cpu['postgres']:.2f} ms",
        "ratio": f"{raw_bouncer.tps / raw.tps:.2f}", "target": "—"})
    rows.append({
        "name": "through PgBouncer: redeem over HTTP, 32 closed-loop clients (DATABASE_PREPARED_STATEMENTS=0)",
        "figure": f"{bounced.requests_per_second:,.0f} req/s; p50 {bounced.p50_ms:.1f} ms, p99 {bounced.p99_ms:.1f} ms;"
                  f" {_cpu_text(bounced_cpu)}",
        "baseline": f"direct {redeem.requests_per_second:,.0f} req/s, p99 {redeem.p99_ms:.1f} ms",
        "ratio": f"{bounced.requests_per_second / redeem.requests_per_second:.2f}", "target": "—"})
    rows.append({
        "name": f"through PgBouncer: open loop at {rate:,.0f} req/s",
        "figure": f"p50 {bounced_steady['p50_ms']:.1f} ms, p99 {bounced_steady['p99_ms']:.1f} ms "
                  f"({bounced_steady['non_2xx'] + bounced_steady['errors']} failed)",
        "baseline": f"direct p99 {steady['p99_ms']:.1f} ms", "ratio": "—", "target": "p99 ≤ 25 ms"})
    rows.append({
        "name": "largest gunicorn process's resident memory after the run",
        "figure": f"{memory:.0f} MB", "baseline": "—", "ratio": "—", "target": "≤ 150 MB"})
    rows.append({
        "name": "verify-ledger after every redemption run above",
        "figure": f"clean ({ledger.seconds:.1f} s)", "baseline": "—", "ratio": "—", "target": "clean"})
    return rows
