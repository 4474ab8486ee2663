"""The app served on a loopback port with the WeChat simulator mounted and an Official Account
configured, so wechatpy's ``client.card`` and ``client.jsapi`` go over real HTTP to the simulator.

The after-commit kick is off by default: tests run the card-wallet jobs themselves, one at a time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from server import create_app
from server.cardwallet.models import WeChatCardLink, WeChatMemberCard
from server.cardwallet.services import request_member_card
from server.consumers.models import Consumer
from server.db import db
from server.jobs.queue import run_job, wait_for_jobs
from server.wechat.adapters import set_card_wallet_client
from tests import factories
from wechat_simulator import URL_PREFIX
from wechat_simulator import mount as mount_wechat_simulator

OA_APPID = "wxoa00112233445566"
OA_SECRET = "test-official-account-secret"


@dataclasses.dataclass
class Wallet:
    app: Flask
    base_url: str

    def sim(self, path: str) -> str:
        return self.base_url + URL_PREFIX + "/api" + path

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        response = requests.get(self.sim("/_card/calls"), params={"path": path} if path else None, timeout=5)
        return response.json()["items"]

    def fail(self, path: str, errcode: int = -1, times: int = 1) -> None:
        requests.post(self.sim("/_card/fail"), json={"path": path, "errcode": errcode, "times": times}, timeout=5)

    def add_to_wallet(self, card_id: str, card_ext: str) -> dict[str, Any]:
        """What wx.addCard does on the phone (the simulator checks the signature as WeChat does)."""
        return requests.post(self.sim("/_card/add"), json={"card_id": card_id, "card_ext": card_ext},
                             timeout=5).json()

    def code_state(self, wx_card_id: str, code: str) -> dict[str, Any] | None:
        blueprint_card = self.app.extensions["wechat_simulator_card"]
        with self.app.app_context():
            return blueprint_card.code_state(wx_card_id, code)

    def run(self, name: str, **kwargs: Any) -> Any:
        with self.app.app_context():
            return run_job(name, kwargs)

    def query(self, function: Any) -> Any:
        with self.app.app_context():
            try:
                return function(db.session)
            finally:
                db.session.remove()

    def link(self, card_id: int) -> WeChatCardLink:
        def load(session):
            link = session.query(WeChatCardLink).filter_by(card_id=card_id).one()
            session.expunge(link)
            return link
        return self.query(load)

    @property
    def client(self):
        return self.app.test_client()


@pytest.fixture(scope="session")
def wallet_server(app: Flask, app_config: dict) -> Iterator[Wallet]:
    server = make_server("127.0.0.1", 0, lambda environ, start_response: [], threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    served = create_app({
        **app_config,
        "REDIS_CLIENT": app.extensions["kabao_redis"],
        "PUBLIC_BASE_URL": base_url,
        "WECHAT_SIMULATOR": True,
        "WECHAT_HTTP_TIMEOUT": 5,
        "WECHAT_OA_APPID": OA_APPID,
        "WECHAT_OA_SECRET": OA_SECRET,
        "CARD_WALLET_AFTER_COMMIT": False,
    })
    mount_wechat_simulator(served)
    server.app = served
    thread = threading.Thread(target=server.serve_forever, name="kabao-wallet-live", daemon=True)
    thread.start()
    yield Wallet(app=served, base_url=base_url)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def wallet(wallet_server: Wallet) -> Iterator[Wallet]:
    config = wallet_server.app.config
    saved = dict(config)
    yield wallet_server
    assert wait_for_jobs(wallet_server.app)
    config.update(saved)
    set_card_wallet_client(wallet_server.app, None)


@dataclasses.dataclass
class Synced:
    """An opted-in published product whose WeChat member card exists, and a consumer's card of it."""

    product_id: int
    member_card_id: int
    card_id: int
    consumer_id: int
    other_consumer_id: int


def consumer_headers(app: Flask, consumer_id: int) -> dict[str, str]:
    from server.auth import Principal, PrincipalKind, issue_token
    from server.extensions import get_redis

    with app.app_context():
        token = issue_token(get_redis(), Principal(PrincipalKind.CONSUMER, consumer_id), 600)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def opted_in(wallet: Wallet, shop) -> Synced:
    """The shop's opted-in product (member card not created yet) and a card of 100 + 20 yuan, 50 points."""
    def build(session):
        merchant = session.get(factories.Merchant, shop.merchant_id)
        product = factories.product(session, merchant, name="咖啡储值卡", wechat_card={"enabled": True},
                                    points_rule={"earn_per_yuan": 1})
        member_card = request_member_card(session, product)
        holder, other = Consumer(openid="o_wallet_holder"), Consumer(openid="o_wallet_other")
        session.add_all([holder, other])
        session.flush()
        card = factories.card(session, product, principal_fen=10000, bonus_fen=2000, points=50, owner_id=holder.id)
        session.commit()
        return Synced(product.id, member_card.id, card.id, holder.id, other.id)

    return wallet.query(build)


@pytest.fixture
def synced(wallet: Wallet, opted_in: Synced) -> Synced:
    """``opted_in`` with its member card created in WeChat."""
    assert wallet.run("cardwallet.create_card", member_card_id=opted_in.member_card_id) == "created"
    return opted_in


def member_card(wallet: Wallet, member_card_id: int) -> WeChatMemberCard:
    def load(session):
        row = session.get(WeChatMemberCard, member_card_id)
        session.expunge(row)
        return row
    return wallet.query(load)
