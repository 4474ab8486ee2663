"""Baseline (a): pgbench's built-in tpcb-like transaction (three locked balance UPDATEs, a SELECT,
a history INSERT, durable COMMIT) at 32 clients on a scratch database of the same server.

Scale 32, so that 32 clients rarely wait on one branch row (what the redemption bench's 1,000 cards
give it too). The same run through PgBouncer shows what the pooler itself costs.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from bench.support import CpuMeter, scratch_database

SCALE = 32
#: Round trips of one tpcb-like transaction in pgbench's simple protocol: BEGIN, 3 UPDATEs, SELECT, INSERT, END.
ROUND_TRIPS = 7


@dataclass
class PgbenchResult:
    tps: float
    latency_ms: float
    postgres_cpu_ms: float


def _connection(url: str) -> list[str]:
    host, port, name = re.search(r"@([^:/]+):(\d+)/(\w+)", url).groups()
    return ["-h", host, "-p", port, "-U", "postgres", name]


def initialise(url: str) -> None:
    subprocess.run(["pgbench", "-i", "-q", "-s", str(SCALE), *_connection(url)], check=True, capture_output=True)


def run_pgbench(url: str, database: str, *, clients: int = 32, seconds: float = 10,
                pgbouncer_pid: int | None = None) -> PgbenchResult:
    with CpuMeter([database], pgbouncer_pid=pgbouncer_pid) as meter:
        output = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(int(seconds)),
                                 *_connection(url)], check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", output).group(1))
    return PgbenchResult(tps, latency, meter.per(transactions)["postgres"])


def scratch_pgbench():
    """A scratch database initialised for pgbench; yields (url, name)."""
    return scratch_database("kabao_bench_pgbench")
