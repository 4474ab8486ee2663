"""Real wechatpy code over real HTTP against the simulator on a loopback port.

One Flask app mounts only the simulator blueprint plus a tiny "merchant" that receives notifies
and parses them with the gateway, the way the payments domain will.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, Response, current_app, request
from werkzeug.serving import make_server

from server.timeutil import SHANGHAI
from server.wechat import InvalidNotify, WeChatPayV2Gateway, WeChatSettings
from wechat_simulator import URL_PREFIX, create_simulator_blueprint, simulator_config

APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"
MCH_ID = "1230000109"
PAY_KEY = "TestPayKey0123456789abcdefghijkl"
NOTIFY_DELAYS = (0.05, 0.1, 0.2, 0.4)


class Receiver:
    """The merchant side: notifies parsed by the gateway, with scripted failures to force retries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.payments: dict[str, list[Any]] = defaultdict(list)
        self.refunds: dict[str, list[Any]] = defaultdict(list)
        self.rejected: list[str] = []
        self._planned: dict[str, list[str]] = {}

    def fail_first(self, ref: str, *outcomes: str) -> None:
        """Answer the next notifies for ``ref`` with ``"500"`` (HTTP error) or ``"FAIL"`` (FAIL XML)."""
        self._planned[ref] = list(outcomes)

    def handle(self, kind: str) -> Response:
        gateway = WeChatPayV2Gateway(WeChatSettings.from_config(current_app.config))
        body = request.get_data()
        try:
            if kind == "payment":
                notice = gateway.parse_payment_notify(body, request.headers)
                ref, store = notice.out_trade_no, self.payments
            else:
                notice = gateway.parse_refund_notify(body, request.headers)
                ref, store = notice.out_refund_no, self.refunds
        except InvalidNotify as exc:
            with self._lock:
                self.rejected.append(exc.reason)
            return Response(gateway.reply_fail(exc.reason), mimetype=gateway.reply_mimetype)
        with self._lock:
            planned = self._planned.get(ref) or []
            outcome = planned.pop(0) if planned else "SUCCESS"
            if outcome == "SUCCESS":
                store[ref].append(notice)
        if outcome == "500":
            return Response("boom", status=500)
        if outcome == "FAIL":
            return Response(gateway.reply_fail("busy"), mimetype=gateway.reply_mimetype)
        return Response(gateway.reply_success(), mimetype=gateway.reply_mimetype)

    def wait(self, store: dict[str, list[Any]], ref: str, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if store.get(ref):
                    return store[ref][0]
            time.sleep(0.02)
        raise AssertionError(f"no notify for {ref} within {timeout}s")


@dataclasses.dataclass
class Sim:
    base_url: str
    app: Flask
    receiver: Receiver
    redis: Any

    @property
    def settings(self) -> WeChatSettings:
        return WeChatSettings.from_config(self.app.config)

    @property
    def pay_notify_url(self) -> str:
        return self.base_url + "/merchant/pay-notify"

    @property
    def refund_notify_url(self) -> str:
        return self.base_url + "/merchant/refund-notify"

    def url(self, path: str) -> str:
        return self.base_url + URL_PREFIX + path

    def simulate_pay(self, out_trade_no: str, *, notify: bool = True) -> requests.Response:
        suffix = "" if notify else "?notify=0"
        return requests.post(self.url(f"/pay/simulate/{out_trade_no}{suffix}"), timeout=5)


@pytest.fixture(scope="session")
def wechat_redis() -> Iterator[Any]:
    url = os.environ.get("TEST_REDIS_URL")
    client = redis.Redis.from_url(url) if url else fakeredis.FakeRedis()
    yield client
    for pattern in ("wxsim:*", "wechat:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture(scope="session")
def sim(wechat_redis: Any) -> Iterator[Sim]:
    app = Flask("wechat_sim_test")
    app.config.update(
        APP_ENV="test",
        WECHAT_APPID=APPID,
        WECHAT_SECRET=SECRET,
        WECHAT_MCH_ID=MCH_ID,
        WECHAT_PAY_KEY=PAY_KEY,
        WECHAT_HTTP_TIMEOUT=5,
    )
    receiver = Receiver()
    blueprint = create_simulator_blueprint(
        lambda: WeChatSettings.from_config(current_app.config),
        lambda: wechat_redis,
        notify_delays=NOTIFY_DELAYS,
    )
    app.register_blueprint(blueprint, url_prefix=URL_PREFIX)
    app.add_url_rule(
        "/merchant/pay-notify", "pay_notify", lambda: receiver.handle("payment"), methods=["POST"]
    )
    app.add_url_rule(
        "/merchant/refund-notify", "refund_notify", lambda: receiver.handle("refund"), methods=["POST"]
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config.update(simulator_config(base_url, app.config))
    thread = threading.Thread(target=server.serve_forever, name="wechat-sim-server", daemon=True)
    thread.start()
    yield Sim(base_url=base_url, app=app, receiver=receiver, redis=wechat_redis)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def settings(sim: Sim) -> WeChatSettings:
    return sim.settings


@pytest.fixture
def gateway(settings: WeChatSettings) -> WeChatPayV2Gateway:
    return WeChatPayV2Gateway(settings)


@pytest.fixture(scope="session")
def merchant_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A throwaway self-signed PEM certificate and key, standing in for the merchant API certificate."""
    folder: Path = tmp_path_factory.mktemp("cert")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MCH_ID)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "apiclient_cert.pem", folder / "apiclient_key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def refund_gateway(settings: WeChatSettings, merchant_cert: tuple[str, str]) -> WeChatPayV2Gateway:
    cert, key = merchant_cert
    return WeChatPayV2Gateway(dataclasses.replace(settings, pay_cert_path=cert, pay_key_path=key))


@pytest.fixture
def place_order(sim: Sim, gateway: WeChatPayV2Gateway):
    """Create an unpaid order in the simulator; returns (out_trade_no, prepay_id)."""

    def _place(amount_fen: int = 1000, openid: str | None = None, attach: str = "order:1") -> tuple[str, str]:
        out_trade_no = "T" + uuid.uuid4().hex[:20]
        prepay_id = gateway.create_order(
            out_trade_no=out_trade_no,
            amount_fen=amount_fen,
            description="卡包-储值卡充值",
            openid=openid or "o" + uuid.uuid4().hex[:27],
            client_ip="127.0.0.1",
            notify_url=sim.pay_notify_url,
            attach=attach,
            expire_at=dt.datetime.now(SHANGHAI) + dt.timedelta(minutes=30),
        )
        return out_trade_no, prepay_id

    return _place
