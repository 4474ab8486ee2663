"""A local WeChat (mini-program API + WeChat Pay v2) for development, tests and the demo.

Mount (only when ``WECHAT_SIMULATOR=1``; refused when ``APP_ENV=production``)::

    app.config.update(simulator_config(app.config["PUBLIC_BASE_URL"], app.config))
    app.register_blueprint(
        create_simulator_blueprint(lambda: WeChatSettings.from_config(current_app.config), get_redis),
        url_prefix=URL_PREFIX,
    )

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

from server.wechat.simulator.blueprint import URL_PREFIX, create_simulator_blueprint
from server.wechat.simulator.identities import simulated_openid, simulated_unionid

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


__all__ = [
    "SIMULATOR_CREDENTIALS",
    "URL_PREFIX",
    "create_simulator_blueprint",
    "simulated_openid",
    "simulated_unionid",
    "simulator_config",
]
