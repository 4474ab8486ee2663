"""py-spy profile of redemption under load: gunicorn (4 workers × 4 threads) serving 32 closed-loop
wrk clients, every worker sampled (``py-spy record --subprocesses``, idle threads left out).

Two recordings, one after the other: ``cpu`` samples only the thread holding the GIL (``--gil``:
where the workers' Python CPU goes), ``wall`` every busy thread (waits on PostgreSQL and Redis
included). Writes bench/profiles/<label>.txt: for each, the hottest functions by own time (the leaf
frame of each sample) and by inclusive time (on the stack at all), as shares of its samples; and the
raw collapsed stacks beside it (<label>-cpu.folded, <label>-wall.folded, for a flame graph). ``make profile`` runs it;
PROFILE_LABEL names the output (e.g. before / after an optimisation).

    PROFILE_LABEL=before .venv/bin/python -m bench.profile_redeem
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.sqltrace import prepare_database
from bench.support import CARD_SECRET, QUICK, fresh_database, gunicorn, require_clean_ledger, wrk

HERE = Path(__file__).resolve().parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "8" if QUICK else "20"))
TOP = 40


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install -r requirements-dev.txt")
    return found


def summarise(folded: Path, label: str, kind: str) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        # "function (path/file.py:line)" → "function (path/file.py)": shares per function, not per line
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")
                  if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"# py-spy {kind}: redemption under 32 closed-loop clients ({label}); {total:,} samples",
             "", f"## {kind}: top {TOP} by own time (leaf frame)", ""]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(TOP)]
    lines += ["", f"## {kind}: top {TOP} by inclusive time", ""]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(TOP)]
    return "\n".join(lines) + "\n"


def _record(pid: int, folded: Path, base: str, env: dict[str, str], gil: bool) -> None:
    spy = subprocess.Popen([_py_spy(), "record", "--pid", str(pid), "--subprocesses", "--rate", "200",
                            "--duration", str(SECONDS), "--format", "raw", "--output", str(folded),
                            *(["--gil"] if gil else [])], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wrk(base + "/api/v1/merchant/redeem", connections=32, seconds=SECONDS + 3,
        script=str(HERE / "redeem.lua"), env=env)
    _, errors = spy.communicate(timeout=120)
    if spy.returncode:
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')}")


def run(label: str) -> Path:
    out_dir = HERE / "profiles"
    out_dir.mkdir(exist_ok=True)
    with fresh_database() as url:
        counter = prepare_database(url, 1000)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as cards_file:
            cards_file.write("\n".join(counter.card_nos))
        env = {"BENCH_TOKEN": counter.token, "BENCH_STORE_ID": str(counter.store_id),
               "BENCH_SECRET": CARD_SECRET, "BENCH_CARDS": cards_file.name}
        with gunicorn(url) as (base, pids):
            wrk(base + "/api/v1/merchant/redeem", connections=32, seconds=2,
                script=str(HERE / "redeem.lua"), env=env)
            for kind in ("cpu", "wall"):
                _record(pids[0], out_dir / f"{label}-{kind}.folded", base, env, gil=kind == "cpu")
        require_clean_ledger(url)
    summary = out_dir / f"{label}.txt"
    summary.write_text("\n".join(summarise(out_dir / f"{label}-{kind}.folded", label, kind)
                                 for kind in ("cpu", "wall")), encoding="utf-8")
    return summary


if __name__ == "__main__":
    print(run(os.environ.get("PROFILE_LABEL", "redeem")).read_text())
