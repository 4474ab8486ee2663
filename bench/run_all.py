"""Run every benchmark in bench/ and write the markdown table to bench/RESULTS.md."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.support import ADMIN_URL, REDIS_URL  # noqa: E402 — after the path is set

BENCHMARKS = ["ledger_post", "redeem_throughput", "redeem_one_card", "report_summary", "codes_stream",
              "print_files"]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    rows = []
    for name in BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        rows.extend(module.run())
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. PostgreSQL (a fresh database per benchmark, created through {ADMIN_URL}) and "
        f"Redis ({REDIS_URL}) on the same machine.",
        "",
        "| benchmark | figure | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {r['name']} | {r['figure']} | {r['baseline']} | {r['ratio']} | {r['target']} |" for r in rows),
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
