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
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
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

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL})
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
        return Counter(store.id, token, card_nos, merchant.id)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workers: int = 4, threads: int = 4):
    """gunicorn serving wsgi:app; yields (base_url, worker pids)."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "APP_ENV": "bench",
           "NOTIFICATIONS_AFTER_COMMIT": "0"}
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
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
        yield base, [int(pid) for pid in children]
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
