"""A local WeChat (mini-program API + WeChat Pay v2) for development, tests and the demo.

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

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from server.extensions import get_redis
from server.wechat import WeChatSettings
from wechat_simulator.blueprint import URL_PREFIX, create_simulator_blueprint
from wechat_simulator.identities import simulated_openid, simulated_unionid

# Credentials used when the config leaves them empty: the simulator checks whatever the app uses.
SIMULATOR_CREDENTIALS = {
    "WECHAT_APPID": "wxa1b2c3d4e5f60718",
    "WECHAT_SECRET": "simulator-app-secret",
    "WECHAT_MCH_ID": "1900000109",
    "WECHAT_PAY_KEY": "SimulatorPayKey0123456789abcdefg",
}


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


def mount(app: Flask) -> None:
    """Serve the simulator under ``URL_PREFIX`` and point the app's WeChat adapters at it.

    The blueprint refuses to be registered on a production app.
    """
    app.config.update(simulator_config(app.config["PUBLIC_BASE_URL"], app.config))
    app.register_blueprint(
        create_simulator_blueprint(lambda: WeChatSettings.from_config(current_app.config), get_redis),
        url_prefix=URL_PREFIX,
    )


__all__ = [
    "SIMULATOR_CREDENTIALS",
    "URL_PREFIX",
    "create_simulator_blueprint",
    "mount",
    "simulated_openid",
    "simulated_unionid",
    "simulator_config",
]
