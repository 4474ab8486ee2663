"""A test command that measures two test selections in one mutation run (run.py --before).

    two_stage.py LOG MODULE BEFORE_TEST ... -- AFTER_TEST ...

Runs the earlier tests (BEFORE_TEST ...) first; if they kill the mutant, appends ``before <sha>`` to
LOG and fails. Otherwise runs the module's tests now (AFTER_TEST ...), appending ``after <sha>`` if
they kill it. <sha> is the SHA-256 of the mutated MODULE, by which run.py tells the mutants apart.
A mutant survives (exit 0) only when both pass.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    log, module, *rest = argv
    split = rest.index("--")
    before, after = rest[:split], rest[split + 1:]
    sha = hashlib.sha256(Path(module).read_bytes()).hexdigest()
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not postgres"]
    for stage, tests in (("before", before), ("after", after)):
        if subprocess.run([*pytest, *tests], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{stage} {sha}\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
