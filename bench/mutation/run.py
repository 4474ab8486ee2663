"""Mutation testing of the money modules with cosmic-ray: `make mutation`, or

    .venv/bin/python bench/mutation/run.py [MODULE ...] [--survivors] [--tests PATH ...]

For each module of modules.toml, one after the other: copy the repository's files (tracked and new,
not ignored) to a scratch directory, so the working tree is never mutated; run the module's tests
once unmutated (they must pass; their time sets the timeout); ``cosmic-ray init`` with the operators
of operators.py; mark the mutants outside the listed functions skipped; ``cosmic-ray exec`` with the
local distributor (one worker); then score. Prints a score per module and a table; exits 1 when a
module is below the target. Sessions and survivors' diffs are kept in instance/mutation/.

Score = killed ÷ (mutants − equivalent survivors). Equivalent survivors (a mutant no behaviour can
tell apart) are listed in equivalent.toml, matched by module, operator and the mutated source line.
A mutant whose tests time out counts as killed (cosmic-ray's rule).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "instance" / "mutation"
sys.path.insert(0, str(HERE))

import operators  # noqa: E402 — after the path is set


@dataclass
class Score:
    name: str
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    incompetent: int = 0
    survivors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: With --before: mutants the earlier tests already killed (None: not measured).
    killed_before: int | None = None

    @property
    def percent(self) -> float:
        counted = self.mutants - self.equivalent - self.incompetent
        return 100.0 * self.killed / counted if counted else 100.0

    @property
    def percent_before(self) -> float | None:
        counted = self.mutants - self.equivalent - self.incompetent
        if self.killed_before is None:
            return None
        return 100.0 * self.killed_before / counted if counted else 100.0


def load_config() -> dict:
    with (HERE / "modules.toml").open("rb") as handle:
        return tomllib.load(handle)


def load_equivalents() -> list[dict]:
    with (HERE / "equivalent.toml").open("rb") as handle:
        return tomllib.load(handle).get("equivalent", [])


def copy_tree(target: Path, rev: str | None) -> None:
    """The repository as it is now (uncommitted edits too, not ignored files), or at commit ``rev``."""
    if rev:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def functions_outside(path: Path, names: list[str]) -> list[tuple[int, int]]:
    """Line ranges (decorators included) of the functions and methods *not* named: their mutants are
    skipped; module- and class-level statements (constants, dataclass fields) always count. A name
    that is not there is an error, so a renamed function cannot silently drop out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, outside = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in names:
                found.add(node.name)
            else:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                outside.append((first, node.end_lineno or node.lineno))
    missing = sorted(set(names) - found)
    if missing:
        raise SystemExit(f"{path}: no function {missing} — update bench/mutation/modules.toml")
    return outside


def test_command(tests: list[str]) -> str:
    return f"{sys.executable} -m pytest -x -q -p no:cacheprovider -m 'not postgres' " + " ".join(tests)


def reopen_survivors(session_file: Path, module: Path, original: str) -> None:
    """For --recheck: point the session at this copy of the module and forget the survivors' results,
    so that exec runs only them again (tests were added; the module must be as it was)."""
    from cosmic_ray.work_item import TestOutcome

    if not session_file.exists():
        raise SystemExit(f"--recheck: no session {session_file}; run without --recheck first")
    recorded = session_file.with_suffix(".source-sha")
    if recorded.exists() and recorded.read_text() != hashlib.sha256(original.encode()).hexdigest():
        raise SystemExit(f"--recheck: {module.name} changed since the session was made; run without --recheck")
    connection = sqlite3.connect(session_file)
    with connection:
        connection.execute("UPDATE mutation_specs SET module_path = ?", (str(module),))
        outcomes = [TestOutcome.SURVIVED, TestOutcome.INCOMPETENT]  # stored by name
        connection.execute("DELETE FROM work_results WHERE test_outcome IN (?, ?, ?, ?)",
                           [*(o.name for o in outcomes), *(o.value for o in outcomes)])
    connection.close()


def _squeeze(code: str) -> str:
    return "".join(code.split())


def mutant_sha(original: str, mutation) -> str:
    """SHA-256 of the module as a mutant reads (as two_stage.py logs it)."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    operator = cosmic_ray.plugins.get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    return hashlib.sha256(mutate_code(original, operator, mutation.occurrence).encode("utf-8")).hexdigest()


def cosmic_ray(*args: str) -> None:
    """Run a cosmic-ray command in this process (so that the kabao operators are known to it)."""
    from cosmic_ray.cli import cli

    try:
        cli.main(list(args), standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise SystemExit(f"cosmic-ray {args[0]} failed ({exit_.code})") from None


def run_module(name: str, spec: dict, defaults: dict, equivalents: list[dict], tests: list[str] | None,
               count_only: bool = False, rev: str | None = None, before: list[str] | None = None,
               recheck: bool = False) -> Score:
    from cosmic_ray.config import ConfigDict, serialize_config
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    tests = tests or spec["tests"]
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    session_file, config_file = OUT / f"{name}.sqlite", OUT / f"{name}.toml"
    with tempfile.TemporaryDirectory(prefix=f"kabao-mutation-{name}-") as scratch:
        tree = Path(scratch)
        copy_tree(tree, rev)
        module = tree / spec["path"]
        if not module.is_file():
            raise SystemExit(f"{spec['path']} does not exist — update bench/mutation/modules.toml")
        command = test_command(tests)
        stages = OUT / f"{name}.stages"
        if not recheck:
            stages.unlink(missing_ok=True)
        if before and not recheck:  # one run measures the earlier tests and the module's tests now
            command = " ".join([sys.executable, str(HERE / "two_stage.py"), str(stages), str(module), *before, "--",
                                *tests])
        original = module.read_text(encoding="utf-8")
        baseline_started = time.monotonic()
        if not count_only:
            baseline = subprocess.run(shlex.split(command), cwd=tree, capture_output=True, text=True,
                                      env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            if baseline.returncode != 0:
                raise SystemExit(f"{name}: the tests fail unmutated:\n{baseline.stdout[-3000:]}")
        timeout = max(defaults["min_timeout"], defaults["timeout_factor"] * (time.monotonic() - baseline_started))
        config = ConfigDict({
            "module-path": str(module), "timeout": round(timeout, 1), "excluded-modules": [],
            "test-command": command, "distributor": {"name": "local"},
        })
        config_file.write_text(serialize_config(config), encoding="utf-8")
        previous = Path.cwd()
        os.chdir(tree)  # cosmic-ray runs the test command in its own working directory
        try:
            if recheck:
                reopen_survivors(session_file, module, original)
            else:
                cosmic_ray("init", str(config_file), str(session_file), "--force")
                session_file.with_suffix(".source-sha").write_text(hashlib.sha256(original.encode()).hexdigest())
            ranges = functions_outside(module, spec["functions"]) if spec.get("functions") else []
            with use_db(str(session_file), WorkDB.Mode.open) as db:
                outside = [item.job_id for item in db.pending_work_items
                           if any(lo <= item.mutations[0].start_pos[0] <= hi for lo, hi in ranges)]
                if outside:
                    db.set_multiple_results(outside, WorkResult(output="outside the module's money functions",
                                                                worker_outcome=WorkerOutcome.SKIPPED))
                pending = len(db.pending_work_items)
            print(f"{name}: {pending} mutants of {spec['path']}, tests: {' '.join(tests)} "
                  f"(timeout {timeout:.0f} s)", flush=True)
            if count_only:
                return Score(name, mutants=pending)
            cosmic_ray("exec", str(config_file), str(session_file))
        finally:
            os.chdir(previous)

        lines = original.splitlines()
        score = Score(name)
        killed_before = set()
        before_file = OUT / f"{name}.before"  # killed by the earlier tests, kept for --recheck
        if recheck and before_file.exists():
            score.killed_before = int(before_file.read_text())
        elif stages.exists() and not recheck:
            score.killed_before = 0
            killed_before = {line.split()[1] for line in stages.read_text(encoding="utf-8").splitlines()
                             if line.startswith("before ")} if stages.exists() else set()
        with use_db(str(session_file), WorkDB.Mode.open) as db:
            for item, result in db.completed_work_items:
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    continue
                score.mutants += 1
                mutation = item.mutations[0]
                if result.test_outcome == TestOutcome.KILLED:
                    score.killed += 1
                    if not recheck and stages.exists() and mutant_sha(original, mutation) in killed_before:
                        score.killed_before += 1
                    continue
                if result.test_outcome == TestOutcome.INCOMPETENT:
                    score.incompetent += 1
                    continue
                source_line = lines[mutation.start_pos[0] - 1].strip()
                mutated = next((line[1:].strip() for line in (result.diff or "").splitlines()
                                if line.startswith("+") and not line.startswith("+++")), "")
                if any(e["module"] == name and e["operator"] == mutation.operator_name
                       and e["line"].strip() == source_line and _squeeze(e.get("mutated", mutated)) == _squeeze(mutated)
                       for e in equivalents):
                    score.equivalent += 1
                    continue
                score.survivors.append(f"{mutation.operator_name} line {mutation.start_pos[0]}: {source_line}\n"
                                       f"{result.diff}")
    if not recheck and (rev or before):  # an earlier revision's or earlier tests' score: the "before"
        before_file.write_text(str(score.killed if rev and not before else score.killed_before))
    elif not recheck:
        before_file.unlink(missing_ok=True)
    (OUT / f"{name}.survivors.txt").write_text("\n\n".join(sorted(score.survivors)), encoding="utf-8")
    score.seconds = time.monotonic() - started
    if score.killed_before is not None:
        print(f"{name}: before {score.killed_before} killed = {score.percent_before:.1f}%", flush=True)
    print(f"{name}: {score.killed}/{score.mutants - score.equivalent - score.incompetent} killed = "
          f"{score.percent:.1f}% ({score.equivalent} equivalent, {len(score.survivors)} surviving, "
          f"{score.incompetent} incompetent) in {score.seconds:.0f} s", flush=True)
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module names of modules.toml (default: all)")
    parser.add_argument("--survivors", action="store_true", help="print the surviving mutants' diffs")
    parser.add_argument("--count", action="store_true", help="only count each module's mutants")
    parser.add_argument("--rev", help="mutate the files of this commit instead of the working tree")
    parser.add_argument("--before", nargs="+", help="earlier tests, scored in the same run (two_stage.py)")
    parser.add_argument("--recheck", action="store_true",
                        help="run only the previous session's survivors again (after adding tests)")
    parser.add_argument("--tests", nargs="+", help="other tests than the module's (e.g. to measure a baseline)")
    args = parser.parse_args(argv)
    config = load_config()
    modules = config["modules"]
    unknown = sorted(set(args.modules) - modules.keys())
    if unknown:
        parser.error(f"unknown module {unknown}; known: {', '.join(modules)}")
    operators.register()
    equivalents = load_equivalents()
    os.environ.update(TEST_DATABASE_URL="", TEST_REDIS_URL="")  # SQLite and the in-process Redis
    scores = [run_module(name, modules[name], config["defaults"], equivalents, args.tests, args.count, args.rev,
                         args.before, args.recheck)
              for name in args.modules or modules]
    target = config["defaults"]["target"]
    print("\n| module | mutants | equivalent | killed before | score before | killed | surviving | score |\n"
          "|---|---|---|---|---|---|---|---|")
    for s in scores:
        before = ("–", "–") if s.killed_before is None else (s.killed_before, f"{s.percent_before:.1f}%")
        print(f"| {s.name} | {s.mutants} | {s.equivalent} | {before[0]} | {before[1]} | {s.killed} | "
              f"{len(s.survivors)} | {s.percent:.1f}% |")
    print(f"\n{sum(s.seconds for s in scores) / 60:.1f} minutes; target {target}% per module")
    if args.survivors:
        for s in scores:
            for survivor in s.survivors:
                print(f"\n[{s.name}] {survivor}")
    return 1 if any(s.percent < target for s in scores) else 0


if __name__ == "__main__":
    sys.exit(main())
