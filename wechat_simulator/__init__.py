"""A local WeChat (mini-program API + WeChat Pay v2 and v3) for development, tests and the demo.

Not part of the product: nothing under ``server/`` imports it. ``wsgi.py`` calls :func:`mount` when
``WECHAT_SIMULATOR=1`` (the embedded default of ``make run``), tests mount it themselves, and a
production configuration can never serve it (the config and :func:`mount` both refuse).

Routes under ``/wechat-sim``: WeChat's own paths below ``api/`` and ``pay/`` (so the base URLs are
``{PUBLIC_BASE_URL}/wechat-sim/api/`` and ``…/pay/``), plus simulator actions:
``POST pay/simulate/<out_trade_no>`` (the user pays; ``?notify=0`` loses the notify),
``POST pay/simulate/<out_trade_no>/notify`` (deliver a paid order's notify again, as WeChat does),
``GET pay/sheet/<out_trade_no>`` (the payment sheet page), ``GET pay/_notifies/<out_trade_no or
out_refund_no>`` (delivery attempts), ``GET|DELETE api/_messages`` (sent subscribe messages).
Login codes: see ``identities``. A subscribe template id ``fail-<errcode>`` fails with that errcode.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, current_app

from server.config import check_wechat_pay
from server.extensions import get_redis
from server.wechat import WeChatSettings
from wechat_simulator.blueprint import URL_PREFIX, create_simulator_blueprint
from wechat_simulator.identities import simulated_openid, simulated_unionid
from wechat_simulator.pay_v3 import PayV3Simulator, V3Keys

# Credentials used when the config leaves them empty: the simulator checks whatever the app uses.
SIMULATOR_CREDENTIALS = {
    "WECHAT_APPID": "wxa1b2c3d4e5f60718",
    "WECHAT_SECRET": "simulator-app-secret",
    "WECHAT_MCH_ID": "1900000109",
    "WECHAT_PAY_KEY": "SimulatorPayKey0123456789abcdefg",
}
SIMULATOR_APIV3_KEY = "SimulatorApiV3Key0123456789abcde"


def simulator_config(public_base_url: str, config: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Config overrides that point the WeChat adapters at the mounted simulator.

    Both base URLs move to the simulator; credentials missing from ``config`` get simulator values.
    """
    base = public_base_url.rstrip("/") + URL_PREFIX
    overrides = {"WECHAT_API_BASE_URL": base + "/api/", "WECHAT_PAY_BASE_URL": base + "/pay/"}
    for key, value in SIMULATOR_CREDENTIALS.items():
        if not (config or {}).get(key):
            overrides[key] = value
    return overrides


def simulator_v3_config(keys: V3Keys, config: Mapping[str, Any]) -> dict[str, str]:
    """Pay v3 settings the app left empty, filled for the simulator (written under a temporary folder).

    The WeChat Pay public key and its id become the simulator's own (generated at start), unless
    ``WECHAT_SIM_PLATFORM_CERTS`` asks for certificate mode (the app then downloads the simulator's
    platform certificate); a missing merchant key is generated with a random certificate serial.
    """
    folder = Path(tempfile.mkdtemp(prefix="wechat-sim-v3-"))
    overrides: dict[str, str] = {}
    if not config.get("WECHAT_PAY_APIV3_KEY"):
        overrides["WECHAT_PAY_APIV3_KEY"] = SIMULATOR_APIV3_KEY
    if not config.get("WECHAT_PAY_MCH_PRIVATE_KEY_PATH"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = folder / "apiclient_key.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        overrides["WECHAT_PAY_MCH_PRIVATE_KEY_PATH"] = str(path)
        overrides["WECHAT_PAY_MCH_CERT_SERIAL_NO"] = secrets.token_hex(20).upper()
    wants_certificates = str(config.get("WECHAT_SIM_PLATFORM_CERTS") or "").lower() in ("1", "true", "yes")
    if not wants_certificates and not config.get("WECHAT_PAY_PUBLIC_KEY_PATH"):
        path = folder / "pub_key.pem"
        path.write_text(keys.public_key_pem(), encoding="ascii")
        overrides.update(WECHAT_PAY_PUBLIC_KEY_PATH=str(path), WECHAT_PAY_PUBLIC_KEY_ID=keys.public_key_id)
    return overrides


def mount(app: Flask) -> None:
    """Serve the simulator under ``URL_PREFIX`` and point the app's WeChat adapters at it.

    With ``WECHAT_PAY_VERSION=v3`` the v3 settings left empty are filled in (``simulator_v3_config``)
    and then must be complete. The blueprint refuses to be registered on a production app.
    """
    app.config.update(simulator_config(app.config["PUBLIC_BASE_URL"], app.config))
    blueprint = create_simulator_blueprint(lambda: WeChatSettings.from_config(current_app.config), get_redis)
    pay_v3: PayV3Simulator = blueprint.pay_v3  # type: ignore[attr-defined]
    if app.config.get("WECHAT_PAY_VERSION") == "v3":
        app.config.update(simulator_v3_config(pay_v3.keys, app.config))
        check_wechat_pay({**app.config, "WECHAT_SIMULATOR": False})
        pay_v3.register_merchant(app.config["WECHAT_PAY_MCH_PRIVATE_KEY_PATH"],
                                 app.config["WECHAT_PAY_MCH_CERT_SERIAL_NO"])
    app.extensions["wechat_simulator_v3"] = pay_v3  # tests sign forged notifies with its keys
    app.extensions["wechat_simulator_card"] = blueprint.card  # type: ignore[attr-defined] - tests read card codes
    app.register_blueprint(blueprint, url_prefix=URL_PREFIX)


__all__ = [
    "SIMULATOR_CREDENTIALS",
    "URL_PREFIX",
    "create_simulator_blueprint",
    "mount",
    "simulated_openid",
    "simulated_unionid",
    "simulator_config",
    "simulator_v3_config",
]
