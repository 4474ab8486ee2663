"""The outbox survives a kill: a process that commits a change and dies before anything is sent loses
nothing — a dispatcher run afterwards delivers the event."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from server.cards.models import Card
from server.db import db, utcnow
from server.jobs.queue import get_queue, wait_for_jobs
from server.webhooks.models import WebhookDelivery
from tests import factories
from tests.webhooks.support import create_webhook

ROOT = Path(__file__).resolve().parents[2]

#: Commits the nightly expiry, then SIGKILLs itself from the first after-commit hook — before the
#: hook that queues the dispatcher, so nothing but the committed rows is left.
CHILD = """
import json, os, signal, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from server import create_app
from server.cards.expiry import expire_cards
from server.db import db, utcnow

app = create_app(json.loads(sys.argv[1]))

@event.listens_for(Session, "after_commit", insert=True)
def die(session):
    os.kill(os.getpid(), signal.SIGKILL)

with app.app_context():
    report = expire_cards(db.session, utcnow())
    assert report.cards_expired == 1, report
    db.session.commit()
raise SystemExit("still alive after the commit")
"""


def test_an_event_committed_by_a_process_killed_right_after_the_commit_is_delivered(
        app, client, shop, receiver, manual_dispatch):
    created = create_webhook(client, shop, receiver.url, events=["card.expired"])
    with app.app_context():
        product = factories.product(db.session, db.session.get(factories.Merchant, shop.merchant_id))
        card_id = factories.card(db.session, product, expires_at=utcnow() - timedelta(days=1)).id
        db.session.commit()
    config = {key: app.config[key] for key in ("APP_ENV", "SECRET_KEY", "DATABASE_URL")}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps({**config, "JOBS_BACKEND": "embedded",  # noqa: S603
                                                                     "JOBS_SCHEDULE": False})],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with app.app_context():
        assert db.session.get(Card, card_id).status == "expired"  # the change was committed
        assert db.session.scalar(select(WebhookDelivery.status)) == "pending"  # and its event with it
    assert receiver.requests == []

    get_queue(app).enqueue("webhooks.dispatch")  # what the periodic sweep does
    [request] = receiver.wait_for(1)
    assert wait_for_jobs(app)
    event = json.loads(request.body)
    assert (event["type"], event["data"]["card"]["card_id"], event["data"]["card"]["status"]) == (
        "card.expired", card_id, "expired")
    [row] = client.get(f"/api/v1/merchant/webhooks/{created['webhook_id']}/deliveries",
                       headers=shop.headers()).get_json()["items"]
    assert row["status"] == "delivered"
