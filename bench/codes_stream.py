"""Redemption-code generation: 100,000 codes through the real endpoint (reserve, generate, HMAC, insert,
commit, stream the CSV, read to the end) against a same-run baseline of a raw bulk insert of 100,000
prepared rows into redemption_codes. Target: ≤ 10 s. PostgreSQL (see bench/support.py).
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import insert

from bench.support import fresh_database

CODES = 100_000
TARGET_SECONDS = 10


def run() -> list[dict]:
    import fakeredis

    from server import create_app
    from server.auth import Principal, PrincipalKind, issue_token
    from server.db import db, utcnow
    from server.extensions import get_redis
    from server.issuance.models import RedemptionCode
    from tests import issuance_support as support

    with fresh_database() as url:
        # Redis only answers the generation throttle here; an in-process one keeps runs independent.
        app = create_app({"DATABASE_URL": url, "REDIS_CLIENT": fakeredis.FakeRedis(), "APP_ENV": "bench",
                          "JOBS_SCHEDULE": False})
        with app.app_context():
            from tests import factories

            merchant = factories.merchant(db.session)
            owner = factories.staff(db.session, merchant, "owner")
            db.session.commit()
            merchant_id, owner_id = merchant.id, owner.id
            token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, owner_id, merchant_id, "owner"), 600)
        streamed_batch = support.batch(app, merchant_id, issue_method="code", quantity=CODES)
        raw_batch = support.batch(app, merchant_id, issue_method="code", quantity=CODES)

        client = app.test_client()
        started = time.perf_counter()
        response = client.post(f"/api/v1/merchant/batches/{streamed_batch}/codes", json={"count": CODES},
                               headers={"Authorization": f"Bearer {token}"}, buffered=False)
        lines = sum(piece.count(b"\n") for piece in response.response)
        response.close()
        stream_seconds = time.perf_counter() - started
        if response.status_code != 201 or lines != CODES + 1:
            raise RuntimeError(f"code generation failed: {response.status_code}, {lines} lines")

        with app.app_context():
            now = utcnow()
            rows = [{"merchant_id": merchant_id, "batch_id": raw_batch, "code_hash": secrets.token_hex(32),
                     "status": "unused", "created_at": now} for _ in range(CODES)]
            started = time.perf_counter()
            db.session.execute(insert(RedemptionCode), rows)
            db.session.commit()
            raw_seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()

    return [{
        "name": f"generate and stream {CODES:,} redemption codes (CSV)",
        "figure": f"{stream_seconds:.2f} s ({CODES / stream_seconds:,.0f} codes/s)",
        "baseline": f"{raw_seconds:.2f} s raw bulk insert ({CODES / raw_seconds:,.0f} rows/s)",
        "ratio": f"{raw_seconds / stream_seconds:.2f}",
        "target": f"≤ {TARGET_SECONDS} s",
    }]


if __name__ == "__main__":
    for row in run():
        print(row)
