"""Redemption throughput and latency under gunicorn on PostgreSQL + Redis, 32 concurrent cashiers over
1,000 cards, next to the same server's trivial JSON endpoint; where the CPU went per redemption (the
ceiling when the application, the database and the load generator share one machine); then one
worker's resident memory.
"""

from __future__ import annotations

import os
import tempfile

from bench.support import CARD_SECRET, cpu_seconds, fresh_database, gunicorn, rss_mb, seed_cards, wrk

CARDS = 1000
CONNECTIONS = 32
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
HERE = os.path.dirname(__file__)


def run() -> list[dict]:
    with fresh_database() as url:
        counter = seed_cards(url, CARDS, principal_fen=10_000_000)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as cards_file:
            cards_file.write("\n".join(counter.card_nos))
        with gunicorn(url) as (base, workers):
            wrk(base + "/api/v1/ping", connections=CONNECTIONS, seconds=2)  # warm up
            baseline = wrk(base + "/api/v1/ping", connections=CONNECTIONS, seconds=SECONDS)
            env = {"BENCH_TOKEN": counter.token, "BENCH_STORE_ID": str(counter.store_id),
                   "BENCH_SECRET": CARD_SECRET, "BENCH_CARDS": cards_file.name}
            before = cpu_seconds()
            redeem = wrk(base + "/api/v1/merchant/redeem", connections=CONNECTIONS, seconds=SECONDS,
                         script=os.path.join(HERE, "redeem.lua"), env=env)
            after = cpu_seconds()
            memory = max(rss_mb(pid) for pid in workers)
    if redeem.non_2xx:
        raise RuntimeError(f"{redeem.non_2xx} redemptions failed during the benchmark")
    redemptions = redeem.requests_per_second * SECONDS
    cpu_ms = {name: (after[name] - before.get(name, 0.0)) * 1000 / redemptions
              for name in ("python", "postgres", "redis-server", "wrk") if name in after}
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / sum(cpu_ms.values())
    database_only_ceiling = cores * 1000 / (cpu_ms.get("postgres", 0) + cpu_ms.get("redis-server", 0))
    budget_ms = cores * 1000 / (0.5 * baseline.requests_per_second)
    return [
        {"name": f"redeem, {CONNECTIONS} clients, {CARDS} cards (gunicorn 4×4, PostgreSQL, Redis)",
         "figure": f"{redeem.requests_per_second:,.0f} req/s; p50 {redeem.p50_ms:.1f} ms, p99 {redeem.p99_ms:.1f} ms",
         "baseline": f"GET /api/v1/ping {baseline.requests_per_second:,.0f} req/s, p99 {baseline.p99_ms:.1f} ms",
         "ratio": f"{redeem.requests_per_second / baseline.requests_per_second:.2f}",
         "target": "ratio ≥ 0.5, p99 ≤ 50 ms"},
        {"name": "CPU per redemption during that run, by process",
         "figure": (f"app {cpu_ms.get('python', 0):.2f} ms, PostgreSQL {cpu_ms.get('postgres', 0):.2f} ms, "
                    f"Redis {cpu_ms.get('redis-server', 0):.2f} ms, wrk {cpu_ms.get('wrk', 0):.2f} ms"),
         "baseline": (f"{cores} cores: at most {ceiling:,.0f} redemptions/s at this cost, "
                      f"{database_only_ceiling:,.0f}/s if the app cost nothing"),
         "ratio": f"{database_only_ceiling / baseline.requests_per_second:.2f} (app-free ceiling ÷ ping)",
         "target": f"ratio 0.5 needs ≤ {budget_ms:.2f} ms CPU per redemption in all"},
        {"name": "largest worker's resident memory after the run",
         "figure": f"{memory:.0f} MB", "baseline": "—", "ratio": "—", "target": "≤ 150 MB"},
    ]
