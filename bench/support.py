"""Shared benchmark plumbing: a fresh PostgreSQL database, seeded cards, a gunicorn server, wrk.

Benchmarks need PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; defaults: the local
services of the development machine) because that is what production runs.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CARD_SECRET = "777777"


@contextmanager
def fresh_database():
    """A new, migrated PostgreSQL database; dropped afterwards."""
    from server.config import database_uri

    name = f"kabao_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_uri(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Counter:
    """What the redemption benchmarks need: a store, a cashier's token, card numbers."""

    store_id: int
    token: str
    card_nos: list[str]
    merchant_id: int


def seed_cards(database_url: str, count: int, principal_fen: int) -> Counter:
    """An approved merchant, a store, a cashier token and ``count`` stored-value cards."""
    from server import create_app
    from server.auth import Principal, PrincipalKind, issue_token
    from server.crypto import encrypt
    from server.db import db
    from server.extensions import get_redis
    from tests import factories

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "JOBS_SCHEDULE": False})
    with app.app_context():
        merchant = factories.merchant(db.session)
        store = factories.store(db.session, merchant)
        cashier = factories.staff(db.session, merchant, "cashier", store_id=store.id)
        product = factories.product(db.session, merchant)
        secret = encrypt(app.config, CARD_SECRET)
        card_nos = [
            factories.card(db.session, product, principal_fen=principal_fen, secret_encrypted=secret).card_no
            for _ in range(count)
        ]
        db.session.commit()
        token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, cashier.id, merchant_id=merchant.id,
                                                   role="cashier", store_id=store.id), 3600)
        counter = Counter(store.id, token, card_nos, merchant.id)
        db.session.remove()
        db.engine.dispose()  # no connection left open: the database may serve as a template
        return counter


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workers: int = 4, threads: int = 4, worker_class: str | None = None,
             env: dict[str, str] | None = None):
    """gunicorn serving wsgi:app; yields (base_url, pids of the master and its workers)."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "APP_ENV": "bench",
           "NOTIFICATIONS_AFTER_COMMIT": "0", **(env or {})}
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    model = ["-k", worker_class] if worker_class else []
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), *model,
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start; see {log.name}")
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        yield base, [process.pid, *(int(pid) for pid in children)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far, summed per command name over the machine's running processes
    ("python" for the gunicorn workers, "postgres", "redis-server"), plus "wrk": this process's
    finished children, which are the load generator's runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        utime, stime = text[text.rindex(")") + 2 :].split()[11:13]
        totals[name] = totals.get(name, 0.0) + (int(utime) + int(stime)) / ticks
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["wrk"] = children.ru_utime + children.ru_stime
    return totals


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, connections: int, seconds: int, script: Path | None = None,
        env: dict[str, str] | None = None) -> WrkResult:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, **(env or {})}).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=_ms(latency["50"]), p99_ms=_ms(latency["99"]), non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def scratch_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def scratch_database(prefix: str = "kabao_bench_raw"):
    """An empty PostgreSQL database (no schema), dropped afterwards; yields (url, name)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield scratch_url(name), name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _proc_cpu(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    utime, stime = text[text.rindex(")") + 2 :].split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent inside a window, by role, on a machine other work shares:

    - ``postgres``: the backends of the named databases (however many come and go: they are sampled
      every 0.2 s) plus the cluster's WAL writer, checkpointer and background writer;
    - ``app``: the given pids (gunicorn's master and workers);
    - ``pgbouncer``, ``redis``: those processes by pid;
    - ``load``: this process's children that finished inside the window (wrk, pgbench, the open-loop
      client), which is why a load generator runs as a child process.
    """

    _SHARED = ("walwriter", "checkpointer", "background writer")

    def __init__(self, databases: list[str], app_pids: list[int] = (), pgbouncer_pid: int | None = None) -> None:
        import threading

        self.databases = databases
        self.fixed = {"app": list(app_pids), "pgbouncer": [pgbouncer_pid] if pgbouncer_pid else [],
                      "redis": [int(p) for p in subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True,
                                                               text=True).stdout.split()]}
        self._seen: dict[int, list[float]] = {}  # postgres pid → [first, last]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_loop, daemon=True)
        self.result: dict[str, float] = {}

    def _pg_pids(self, conn) -> list[int]:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s) OR backend_type = ANY(%s)",
                            (self.databases, list(self._SHARED))).fetchall()
        return [row[0] for row in rows]

    def _sample(self, conn, first: bool) -> None:
        for pid in self._pg_pids(conn):
            cpu = _proc_cpu(pid)
            if cpu is None:
                continue
            if pid not in self._seen:
                self._seen[pid] = [cpu if first else 0.0, cpu]
            else:
                self._seen[pid][1] = cpu

    def _sample_loop(self) -> None:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self._stop.wait(0.2):
                self._sample(conn, first=False)
            self._sample(conn, first=False)

    def __enter__(self) -> CpuMeter:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            self._sample(conn, first=True)
        self._fixed_before = {pid: _proc_cpu(pid) or 0.0 for pids in self.fixed.values() for pid in pids}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._load_before = children.ru_utime + children.ru_stime
        self._wall = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.perf_counter() - self._wall
        self.result = {role: sum((_proc_cpu(pid) or self._fixed_before[pid]) - self._fixed_before[pid]
                                 for pid in pids) for role, pids in self.fixed.items()}
        self.result["postgres"] = sum(last - first for first, last in self._seen.values())
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.result["load"] = children.ru_utime + children.ru_stime - self._load_before

    def per(self, count: float) -> dict[str, float]:
        """Milliseconds of CPU per unit of work, by role."""
        return {role: seconds * 1000 / count for role, seconds in self.result.items()}


@contextmanager
def pgbouncer(pool_size: int = 20, server_url: str = ADMIN_URL):
    """Debian's PgBouncer in transaction pooling mode on a free port, in front of ``server_url``'s
    server; yields (port, pid). Started here so the bench (and the suite's concurrency tests run
    through it, tests/conftest.py) need nothing configured on the machine."""
    import shutil

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError("PgBouncer is not installed: make bench-deps (or make test, which installs it)")
    port = _free_port()
    host, server_port = re.search(r"@([^:/]+):(\d+)", server_url).groups()
    workdir = Path(tempfile.mkdtemp(prefix="kabao-pgbouncer-"))
    workdir.chmod(0o777)
    (workdir / "users.txt").write_text('"postgres" ""\n')
    (workdir / "pgbouncer.ini").write_text(f"""[databases]
* = host={host} port={server_port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/users.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
max_db_connections = {pool_size}
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
""")
    for path in workdir.iterdir():
        path.chmod(0o666)
    command = [binary, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"pgbouncer did not start; see {workdir}/pgbouncer.log")
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def via_port(url: str, port: int) -> str:
    """``url`` with its server port replaced (to reach PostgreSQL through PgBouncer)."""
    return re.sub(r"@([^:/]+):\d+", lambda m: f"@{m.group(1)}:{port}", url, count=1)


@dataclass
class LedgerCheck:
    clean: bool
    seconds: float
    peak_mb: float
    output: str


def verify_ledger(database_url: str) -> LedgerCheck:
    """``flask verify-ledger`` on the database, as an operator runs it: its time and peak memory."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "APP_ENV": "bench"}
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "verify-ledger"], cwd=ROOT,
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    last_lines = " ".join(text.strip().splitlines()[-2:])
    return LedgerCheck(process.returncode == 0, seconds, usage.ru_maxrss / 1024, last_lines)


def require_clean_ledger(database_url: str) -> LedgerCheck:
    """Every benchmark that moved money ends here: a drift fails the run."""
    check = verify_ledger(database_url)
    if not check.clean:
        raise RuntimeError(f"verify-ledger found drift after the benchmark: {check.output}")
    return check


@contextmanager
def database_copy(url: str, prefix: str = "kabao_bench_copy"):
    """A copy of ``url``'s database (CREATE DATABASE … TEMPLATE), dropped afterwards; yields (url, name)."""
    import psycopg

    source = url.rsplit("/", 1)[1]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        for attempt in range(50):  # connections just closed may still be ending on the server side
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)
    try:
        yield scratch_url(name), name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def open_loop(url: str, rate: float, seconds: float, counter: Counter, cards_file: str) -> dict:
    """bench/open_loop.py as a child process (its CPU counts as the load generator's)."""
    import json

    output = subprocess.run(
        [sys.executable, "-m", "bench.open_loop", "--url", url, "--rate", f"{rate:.1f}", "--seconds", str(seconds),
         "--token", counter.token, "--store-id", str(counter.store_id), "--secret", CARD_SECRET,
         "--cards", cards_file], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(output)
