"""WeChat Pay v3 configuration: a half-configured v3 refuses to start; the base URL is ours."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization

from server.config import load_config
from server.wechat import PayConfigurationError, WeChatSettings
from server.wechat.pay_v3 import WeChatPayV3Gateway
from wechat_simulator.pay_v3 import V3Keys

APIV3_KEY = "TestApiV3Key0123456789abcdefghij"


@pytest.fixture(scope="module")
def v3_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("v3")
    merchant, wechat = V3Keys(), V3Keys()
    key_path, public_path = folder / "apiclient_key.pem", folder / "pub_key.pem"
    key_path.write_bytes(merchant.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public_path.write_text(wechat.public_key_pem())
    return {"WECHAT_PAY_VERSION": "v3", "WECHAT_PAY_APIV3_KEY": APIV3_KEY,
            "WECHAT_PAY_MCH_PRIVATE_KEY_PATH": str(key_path),
            "WECHAT_PAY_MCH_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
            "WECHAT_PAY_PUBLIC_KEY_PATH": str(public_path), "WECHAT_PAY_PUBLIC_KEY_ID": wechat.public_key_id}


def test_a_complete_v3_configuration_starts(v3_files):
    assert load_config(v3_files)["WECHAT_PAY_VERSION"] == "v3"
    certificates = {**v3_files, "WECHAT_PAY_PUBLIC_KEY_PATH": None, "WECHAT_PAY_PUBLIC_KEY_ID": None}
    assert load_config(certificates)["WECHAT_PAY_PUBLIC_KEY_ID"] is None


@pytest.mark.parametrize(("change", "complaint"), [
    ({"WECHAT_PAY_APIV3_KEY": None}, "needs WECHAT_PAY_APIV3_KEY"),
    ({"WECHAT_PAY_APIV3_KEY": "short"}, "32 bytes"),
    ({"WECHAT_PAY_MCH_PRIVATE_KEY_PATH": None}, "needs WECHAT_PAY_MCH_PRIVATE_KEY_PATH"),
    ({"WECHAT_PAY_MCH_CERT_SERIAL_NO": ""}, "needs WECHAT_PAY_MCH_CERT_SERIAL_NO"),
    ({"WECHAT_PAY_PUBLIC_KEY_ID": None}, "must be set together"),
    ({"WECHAT_PAY_PUBLIC_KEY_PATH": None}, "must be set together"),
    ({"WECHAT_PAY_MCH_PRIVATE_KEY_PATH": "/nonexistent/apiclient_key.pem"}, "does not point to a file"),
    ({"WECHAT_PAY_VERSION": "v4"}, "must be v2 or v3"),
    ({"WECHAT_PAY_MODE": "agent"}, "must be direct or partner"),
])
def test_a_half_configured_v3_refuses_to_start(v3_files, change, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        load_config({**v3_files, **change})


def test_with_the_simulator_missing_v3_settings_are_left_to_it():
    assert load_config({"WECHAT_PAY_VERSION": "v3", "WECHAT_SIMULATOR": True})["WECHAT_PAY_VERSION"] == "v3"
    with pytest.raises(RuntimeError, match="must be set together"):
        load_config({"WECHAT_PAY_VERSION": "v3", "WECHAT_SIMULATOR": True, "WECHAT_PAY_PUBLIC_KEY_ID": "PUB_KEY_ID_1"})


def test_wechatpayv3_goes_to_the_configured_base_url(v3_files):
    settings = WeChatSettings.from_config({**v3_files, "WECHAT_PAY_BASE_URL": "http://127.0.0.1:9/wechat-sim/pay/"})
    gateway = WeChatPayV3Gateway(settings)
    core = gateway._pay._core
    assert core._gate_way == "http://127.0.0.1:9/wechat-sim/pay"
    core._gate_way = "https://api.mch.weixin.qq.com"  # what the library's constructor writes
    assert core._gate_way == "http://127.0.0.1:9/wechat-sim/pay"
    default = WeChatPayV3Gateway(WeChatSettings.from_config(v3_files))
    assert default._pay._core._gate_way == "https://api.mch.weixin.qq.com"


def test_an_unreadable_key_is_a_configuration_error(v3_files):
    settings = WeChatSettings.from_config(v3_files)
    with pytest.raises(PayConfigurationError):
        WeChatPayV3Gateway(dataclasses.replace(settings, mch_private_key_path="/nonexistent"))
    with pytest.raises(PayConfigurationError):
        WeChatPayV3Gateway(dataclasses.replace(settings, pay_public_key_path=settings.mch_private_key_path))
    with pytest.raises(PayConfigurationError, match="partner mode needs"):
        WeChatPayV3Gateway(dataclasses.replace(settings, pay_mode="partner")).close_order("T123456789")
