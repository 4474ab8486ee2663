"""A webhook receiver on a loopback port (http.server) and helpers to create endpoints and drive deliveries."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from server.db import db
from server.webhooks.addresses import AddressPolicy, guarded_session
from server.webhooks.delivery import claim_for_sending, dispatch_due, record_outcome, send


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request it gets (raw body included) and answers ``status`` with ``body``."""

    url: str = ""
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} request(s), got {len(self.requests)}")


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), raw))
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.send_header("Content-Length", str(len(receiver.body)))
            self.end_headers()
            self.wfile.write(receiver.body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    threading.Thread(target=server.serve_forever, name="test-receiver", daemon=True).start()
    return receiver, server


def create_webhook(client, shop, url: str, events=("card.redeemed",), mode: str = "live") -> dict:
    response = client.post("/api/v1/merchant/webhooks", json={"url": url, "events": list(events), "mode": mode},
                           headers=shop.headers("owner"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def attempt_due(app, now: datetime, policy: AddressPolicy | None = None) -> list[str]:
    """One dispatcher sweep at ``now`` and an attempt of every delivery it hands out (time driven, no sleeping)."""
    statuses = []
    with app.app_context():
        claimed = dispatch_due(db.session, now)
        db.session.commit()
        for delivery_id, claim in claimed:
            outgoing = claim_for_sending(db.session, app.config, delivery_id, claim, now)
            db.session.commit()
            if outgoing is None:
                continue
            with guarded_session(policy or AddressPolicy.from_config(app.config)) as http:
                response = send(http, outgoing, int(now.timestamp()))
            statuses.append(record_outcome(db.session, outgoing, response, now).status)
            db.session.commit()
        db.session.remove()
    return statuses
