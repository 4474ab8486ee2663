"""Run every benchmark in bench/ and write the markdown table to bench/RESULTS.md."""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.support import ADMIN_URL, QUICK, REDIS_URL  # noqa: E402 — after the path is set

#: BENCH_QUICK=1 runs only these (a few minutes); BENCH_10M=1 adds the 10-million-entry data-growth step.
CORE = ["redeem_throughput", "redeem_one_card", "data_growth"]
BENCHMARKS = [*CORE, "ledger_post", "codes_stream", "print_files"]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    rows = []
    load_before = os.getloadavg()[0]
    started = time.time()
    failed = []
    for name in CORE if QUICK else BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        try:
            rows.extend(module.run())
        except Exception as error:  # the others still run; the table says what failed, and so does the exit code
            traceback.print_exc()
            failed.append(name)
            message = " ".join(str(error).split())[:300].replace("|", "/")
            rows.append({"name": f"bench/{name}.py", "figure": f"FAILED: {type(error).__name__}: {message}",
                         "baseline": "—", "ratio": "—", "target": "—"})
    minutes = (time.time() - started) / 60
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. PostgreSQL (a fresh database per benchmark, created through {ADMIN_URL}) and "
        f"Redis ({REDIS_URL}) on the same machine. Written by `make bench`"
        f"{' in quick mode (BENCH_QUICK=1)' if QUICK else ''} on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" in {minutes:.0f} min; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other work "
        "shares the machine: only ratios within one run count).",
        "",
        "| benchmark | figure | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        *(f"| {r['name']} | {r['figure']} | {r['baseline']} | {r['ratio']} | {r['target']} |" for r in rows),
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
