"""An open-loop, constant-arrival-rate HTTP load generator (asyncio, HTTP/1.1 keep-alive).

Requests are scheduled at fixed intervals whatever the server does; each one's latency runs from
its scheduled moment to the end of its response, so a stall shows up in every request it delays
(no coordinated omission, unlike a closed loop such as wrk, which waits and so measures queueing).
Connections are opened as needed, up to ``--max-connections``.

Run as a child process (its CPU then counts as the load generator's):

    python -m bench.open_loop --url http://127.0.0.1:8000/api/v1/merchant/redeem --rate 150 \\
        --seconds 15 --token … --store-id … --secret … --cards cards.txt

Prints one JSON object: sent, completed, errors, non_2xx, p50_ms, p99_ms, max_ms, achieved_rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Client:
    def __init__(self, url: str, max_connections: int) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.available = asyncio.Semaphore(max_connections)

    async def request(self, body: bytes, headers: dict[str, str]) -> int:
        async with self.available:
            while True:
                reused = bool(self.idle)
                if reused:
                    reader, writer = self.idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    self.open += 1
                try:
                    return await self._exchange(reader, writer, body, headers)
                except (OSError, asyncio.IncompleteReadError):
                    writer.close()
                    if not reused:
                        raise
                    # A kept-alive connection the server closed meanwhile (gunicorn's keep-alive is 2 s):
                    # sent again on another, as HTTP clients do; the Idempotency-Key makes that safe.

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes,
                        headers: dict[str, str]) -> int:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
                     f"{head}\r\n".encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("closed by the server")
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        await reader.readexactly(length)
        if keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return int(status_line.split()[1])


async def run(args: argparse.Namespace) -> dict:
    cards = [line.strip() for line in Path(args.cards).read_text(encoding="utf-8").splitlines() if line.strip()]
    client = Client(args.url, args.max_connections)
    rng = random.Random()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    total = int(args.rate * args.seconds)
    interval = 1.0 / args.rate

    async def one(scheduled: float) -> None:
        nonlocal errors
        body = json.dumps({"code": f"{rng.choice(cards)}:{args.secret}", "store_id": args.store_id,
                           "amount_fen": 1}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.token}",
                   "Idempotency-Key": uuid.uuid4().hex}
        try:
            status = await client.request(body, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors += 1
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    start = time.perf_counter() + 0.2
    for n in range(total):
        scheduled = start + n * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {"sent": total, "completed": len(latencies), "errors": errors,
            "non_2xx": sum(c for s, c in statuses.items() if not 200 <= s < 300),
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies, default=float("nan")),
            "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
            "achieved_rate": len(latencies) / elapsed, "connections": client.open}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--token", required=True)
    parser.add_argument("--store-id", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--cards", required=True)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
