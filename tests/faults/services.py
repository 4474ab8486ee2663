# ruff: noqa: S103, S603, S607 - starts local redis-server, PostgreSQL, gunicorn and flask binaries on purpose
"""Services a fault test owns: a Redis, a PostgreSQL cluster, a gunicorn and a job worker, each on its own
free port or temporary directory, stopped, killed and restarted at will, and always cleaned up.

Nothing here touches the shared PostgreSQL and Redis on the default ports.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """The predicate's first true value, looked for every ``interval`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not ready after {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class OwnRedis:
    """redis-server on a free port, no persistence (as the tokens' Redis may be)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kabao-redis-")
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.resume()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found under /usr/lib/postgresql")
    return found[-1]


class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb/pg_ctl as the postgres user, which they require)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = tempfile.mkdtemp(prefix="kabao-pg-")
        self.data = os.path.join(self.base, "data")
        os.chmod(self.base, 0o755)
        shutil.chown(self.base, "postgres", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        self._as_postgres(_pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync",
                          "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._as_postgres(_pg_bin("pg_ctl"), "-D", self.data, "-o", options, "-l",
                          os.path.join(self.base, "log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as a crash — no checkpoint, every connection cut."""
        self._as_postgres(_pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", check=False)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class OwnGunicorn:
    """`gunicorn wsgi:app` from the repository root (so gunicorn.conf.py applies) with ``workers``."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log = tempfile.NamedTemporaryFile(prefix="kabao-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "2", "--timeout", "30", "--no-control-socket", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=30)
        wait_for(lambda: len(self.worker_pids()) == self.workers, timeout=30)
        wait_for(self._serving, timeout=60, interval=0.2)

    def _serving(self) -> bool:
        """A worker has loaded the app: each imports it after the fork, which takes seconds on a busy machine,
        and a request sent meanwhile waits for it."""
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        assert self.process
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def cleanup(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log.name)


class OwnWorker:
    """`flask --app wsgi worker` (RQ) from the repository root, in a process group of its own: ``kill``
    takes RQ's scheduler child with it, as a lost machine or container would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.log = tempfile.NamedTemporaryFile(prefix="kabao-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                        env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def kill(self) -> None:
        """``kill -9``: no signal handler, no cleanup, whatever job is running stops where it is."""
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def cleanup(self) -> None:
        self.kill()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log.name)
