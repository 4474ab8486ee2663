from __future__ import annotations

import pytest

from tests.webhooks.support import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def manual_dispatch(app, monkeypatch):
    """Deliveries wait for the test to drive them (no dispatch job after each commit)."""
    monkeypatch.setitem(app.config, "WEBHOOKS_AFTER_COMMIT", False)
    return app
