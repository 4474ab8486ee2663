"""积分兑换 in the mini-program: my card's rewards, an idempotent exchange, others' cards not found."""

from server.db import db
from server.rewards.models import Reward
from tests.api.mp.test_wallet import _consumer, _holder


def test_a_consumer_exchanges_points_once_per_key(client, counter, app, issue_token):
    card_id = counter.card("points", points=300)
    with app.app_context():
        reward = Reward(merchant_id=counter.shop.merchant_id, name="美式咖啡一杯", kind="goods", points_price=120,
                        stock=5)
        db.session.add(reward)
        db.session.commit()
        reward_id = reward.id
    _, holder = _holder(app, issue_token)
    listed = client.get(f"/api/v1/mp/cards/{card_id}/rewards", headers=holder).get_json()
    assert listed["points"] == 300 and [r["reward_id"] for r in listed["items"]] == [reward_id]
    path = f"/api/v1/mp/cards/{card_id}/rewards/{reward_id}/exchange"
    first = client.post(path, headers={**holder, "Idempotency-Key": "ex-1"})
    assert first.status_code == 201, first.get_json()
    again = client.post(path, headers={**holder, "Idempotency-Key": "ex-1"})
    assert again.get_json() == first.get_json() and first.get_json()["points_balance"] == 180
    assert client.post(path, headers=holder).status_code == 400  # the key is required
    second = client.post(path, headers={**holder, "Idempotency-Key": "ex-2"}).get_json()
    assert second["points_balance"] == 60
    poor = client.post(path, headers={**holder, "Idempotency-Key": "ex-3"})
    assert poor.status_code == 422 and poor.get_json()["error"]["code"] == "INSUFFICIENT_POINTS"
    _, stranger = _consumer(app, issue_token, "o_stranger")
    assert client.get(f"/api/v1/mp/cards/{card_id}/rewards", headers=stranger).status_code == 404
    assert client.post(path, headers={**stranger, "Idempotency-Key": "ex-4"}).status_code == 404
