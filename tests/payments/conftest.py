"""The whole app served on a loopback port with the WeChat simulator mounted.

WeChat calls (wechatpy, wechatpayv3) go over real HTTP to the simulator inside that server, and the
simulator's notifies come back over real HTTP to our notify views (PUBLIC_BASE_URL is the server's
address). Every test here runs twice, against WeChat Pay v2 and v3 (``pay_version``); a test only
one version can run says so with ``@pytest.mark.pay_versions("v2")``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from cryptography import x509
from flask import Flask
from werkzeug.serving import make_server

from server import create_app
from server.wechat.adapters import set_payment_gateway
from tests import factories, issuance_support
from tests.payments.support import TOP_UP_TEMPLATE, Live, Shop
from tests.wechat.conftest import merchant_cert  # noqa: F401 - a throwaway PEM pair for refunds
from wechat_simulator import mount as mount_wechat_simulator

#: Threads of the simulator's notify delivery and of our embedded job queue.
BACKGROUND_THREADS = {"wxsim-notify", "kabao-jobs"}


PAY_VERSIONS = ("v2", "v3")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the runs of ``pay_versions``-marked tests on the versions they do not name."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("pay_versions")
        version = getattr(getattr(item, "callspec", None), "params", {}).get("pay_version")
        (dropped if marker and version and version not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=PAY_VERSIONS)
def pay_version(request: pytest.FixtureRequest) -> str:
    return request.param


def _version_config(version: str, cert_and_key: tuple[str, str]) -> dict:
    """v3: the merchant API key is the test certificate's; the simulator supplies the rest."""
    if version == "v2":
        return {}
    cert_path, key_path = cert_and_key
    with open(cert_path, "rb") as pem:
        serial = format(x509.load_pem_x509_certificate(pem.read()).serial_number, "X")
    return {"WECHAT_PAY_VERSION": "v3", "WECHAT_PAY_MCH_PRIVATE_KEY_PATH": key_path,
            "WECHAT_PAY_MCH_CERT_SERIAL_NO": serial}


@pytest.fixture(scope="session")
def live_server(app: Flask, app_config: dict, merchant_cert: tuple[str, str],  # noqa: F811
                pay_version: str) -> Iterator[Live]:
    server = make_server("127.0.0.1", 0, lambda environ, start_response: [], threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    cert, key = merchant_cert
    served = create_app({
        **app_config,
        "REDIS_CLIENT": app.extensions["kabao_redis"],
        "PUBLIC_BASE_URL": base_url,
        "WECHAT_SIMULATOR": True,
        "WECHAT_PAY_CERT_PATH": cert,
        "WECHAT_PAY_KEY_PATH": key,
        "WECHAT_HTTP_TIMEOUT": 5,
        "WECHAT_TEMPLATE_TOP_UP": TOP_UP_TEMPLATE,
        "WECHAT_TEMPLATE_REDEMPTION": "tpl-redemption",
        **_version_config(pay_version, merchant_cert),
    })
    mount_wechat_simulator(served)
    server.app = served  # the port had to exist before the app could know its own URL
    thread = threading.Thread(target=server.serve_forever, name="kabao-live", daemon=True)
    thread.start()
    yield Live(app=served, base_url=base_url, version=pay_version)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def live(live_server: Live) -> Iterator[Live]:
    """The served app with its test-tunable config restored afterwards."""
    config = live_server.app.config
    saved = dict(config)
    yield live_server
    # Let notifies still being delivered (WeChat retries) and messages being sent finish now, so
    # none lands in the next test's freshly emptied tables.
    for thread in threading.enumerate():
        if thread.name in BACKGROUND_THREADS:
            thread.join(timeout=15)
    for key in config.keys() - saved.keys():
        del config[key]
    config.update(saved)  # never cleared: a job of the embedded thread may be reading it
    set_payment_gateway(live_server.app, None)


@pytest.fixture
def seller(live: Live) -> Shop:
    """An approved merchant with a published 100-yuan stored-value product."""
    def build(session):
        merchant = factories.merchant(session, name="测试咖啡")
        session.commit()
        return merchant.id

    merchant_id = live.query(build)
    return Shop(merchant_id, issuance_support.product(live.app, merchant_id, name="咖啡储值卡"))
