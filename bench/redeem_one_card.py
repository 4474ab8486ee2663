"""200 concurrent redemptions against one card through gunicorn: exactly the affordable number
succeed and the final balance is exact; time to drain them, next to 200 concurrent pings.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

from bench.support import CARD_SECRET, fresh_database, gunicorn, pgbouncer, require_clean_ledger, seed_cards, via_port

ATTEMPTS = 200
AFFORDABLE = 137
BILL_FEN = 100


def _fire(requests: list[urllib.request.Request]) -> tuple[list[int], float]:
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(request: urllib.request.Request) -> None:
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - started


def _one_card(url: str, counter, via: str, env: dict[str, str] | None = None) -> dict:
    with gunicorn(url, env=env) as (base, _):
        body = json.dumps({"code": f"{counter.card_nos[0]}:{CARD_SECRET}", "store_id": counter.store_id,
                           "amount_fen": BILL_FEN}).encode()
        redeems = [
            urllib.request.Request(base + "/api/v1/merchant/redeem", data=body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {counter.token}",
                "Idempotency-Key": f"one-card-{via}-{n}"})
            for n in range(ATTEMPTS)
        ]
        statuses, drain = _fire(redeems)
        _, ping_drain = _fire([urllib.request.Request(base + "/api/v1/ping") for _ in range(ATTEMPTS)])
        lookup = urllib.request.Request(base + f"/api/v1/merchant/cards/{counter.card_nos[0]}",
                                        headers={"Authorization": f"Bearer {counter.token}"})
        with urllib.request.urlopen(lookup) as response:
            balance = json.load(response)["balance_fen"]
    succeeded = statuses.count(200)
    exact = succeeded == AFFORDABLE and balance == 0 and statuses.count(422) == ATTEMPTS - AFFORDABLE
    return {
        "name": f"{ATTEMPTS} concurrent redemptions of one card affording {AFFORDABLE} ({via})",
        "figure": f"{succeeded} succeeded, final balance {balance} fen ({'exact' if exact else 'WRONG'}); "
                  f"drained in {drain * 1000:.0f} ms",
        "baseline": f"{ATTEMPTS} concurrent pings in {ping_drain * 1000:.0f} ms",
        "ratio": f"{ping_drain / drain:.2f}",
        "target": "exactly the affordable number succeed",
    }


def run() -> list[dict]:
    rows = []
    for via in ("direct", "through PgBouncer, prepared statements off"):
        with fresh_database() as url:
            counter = seed_cards(url, 1, principal_fen=AFFORDABLE * BILL_FEN)
            if via == "direct":
                rows.append(_one_card(url, counter, "direct"))
            else:
                with pgbouncer() as (port, _):
                    rows.append(_one_card(via_port(url, port), counter, "PgBouncer",
                                          env={"DATABASE_PREPARED_STATEMENTS": "0"}))
            require_clean_ledger(url)
        if "WRONG" in rows[-1]["figure"]:
            raise RuntimeError(f"one-card redemptions: {rows[-1]['figure']}")
    return rows
