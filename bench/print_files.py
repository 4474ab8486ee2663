"""Print files of a physical batch through the real endpoints (query, decrypt, draw, stream, read to the end):

- ``print.pdf`` of 10,000 cards: target ≤ 30 s with memory that does not grow with the count (the
  process's RSS is sampled while the file streams: after the first 1,000 pages and at the end);
  baseline: reportlab drawing the same 10,000 pages into one in-memory document, the usual way;
- ``print.csv`` of 100,000 cards: target ≤ 10 s; baseline: reading the same rows without decrypting.

Also printed: creating the 100,000 cards when the batch becomes active. PostgreSQL (bench/support.py).
"""

from __future__ import annotations

import io
import os
import time

from sqlalchemy import select

from bench.support import fresh_database, rss_mb

PDF_CARDS = 10_000
CSV_CARDS = 100_000
PDF_TARGET_SECONDS = 30
CSV_TARGET_SECONDS = 10


def _batch(app, merchant_id: int, product_id: int, quantity: int) -> tuple[int, float]:
    """An active physical batch with its cards created; returns its id and the seconds creating took."""
    from flask import current_app

    from server.cards.physical import create_printed_cards
    from server.db import db
    from server.issuance.models import Batch
    from server.products.models import CardProduct
    from tests import issuance_support as support

    batch_id = support.batch(app, merchant_id, product_id, issue_method="physical", quantity=quantity,
                             price_fen=8000)
    with app.app_context():
        started = time.perf_counter()
        create_printed_cards(db.session, current_app.config, db.session.get(Batch, batch_id),
                             db.session.get(CardProduct, product_id))
        db.session.commit()
        return batch_id, time.perf_counter() - started


def _stream(client, url: str, token: str, pages_every: int | None = None) -> tuple[float, int, list[float]]:
    """Seconds to read the whole answer, its size, and RSS samples (MB) as it streams."""
    started = time.perf_counter()
    response = client.get(url, headers={"Authorization": f"Bearer {token}"}, buffered=False)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    size, samples = 0, []
    for piece in response.response:
        size += len(piece)
        samples.append(rss_mb(os.getpid()))
    response.close()
    return time.perf_counter() - started, size, samples


def _reportlab_baseline(app, batch_id: int, face: bytes) -> tuple[float, float]:
    """Seconds and RSS growth (MB) of drawing the batch into one reportlab document in memory."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from server.cards import print_layout
    from server.db import db
    from server.issuance.print_files import batch_cards

    with app.app_context():
        before = rss_mb(os.getpid())
        started = time.perf_counter()
        print_layout._register_font()
        out = io.BytesIO()
        pdf = canvas.Canvas(out, pagesize=(print_layout.PAGE_WIDTH, print_layout.PAGE_HEIGHT), pageCompression=1)
        pdf.beginForm("face")
        print_layout._draw_face(pdf, ImageReader(io.BytesIO(face)))
        pdf.endForm()
        for card_no, secret in batch_cards(db.session, app.config, batch_id):
            pdf.doForm("face")
            print_layout._draw_card(pdf, card_no, secret)
            pdf.showPage()
        pdf.save()
        seconds = time.perf_counter() - started
        grown = rss_mb(os.getpid()) - before
        db.session.remove()
    return seconds, grown


def run() -> list[dict]:
    import fakeredis

    from server import create_app
    from server.auth import Principal, PrincipalKind, issue_token
    from server.cards.models import Card
    from server.db import db
    from server.extensions import get_redis
    from server.issuance.models import Batch
    from server.issuance.print_files import print_face
    from server.storage import LocalDiskStorage
    from tests import factories
    from tests import issuance_support as support

    with fresh_database() as url:
        app = create_app({"DATABASE_URL": url, "REDIS_CLIENT": fakeredis.FakeRedis(), "APP_ENV": "bench",
                          "JOBS_SCHEDULE": False})
        with app.app_context():
            merchant = factories.merchant(db.session)
            owner = factories.staff(db.session, merchant, "owner")
            db.session.commit()
            merchant_id, owner_id = merchant.id, owner.id
            token = issue_token(get_redis(), Principal(PrincipalKind.STAFF, owner_id, merchant_id, "owner"), 600)
        product_id = support.product(app, merchant_id, form="physical", name="实体储值卡")
        pdf_batch, _ = _batch(app, merchant_id, product_id, PDF_CARDS)
        csv_batch, create_seconds = _batch(app, merchant_id, product_id, CSV_CARDS)
        client = app.test_client()

        pdf_seconds, pdf_size, samples = _stream(client, f"/api/v1/merchant/batches/{pdf_batch}/print.pdf", token)
        # One piece per run of PAGES_PER_RUN pages (plus the header and the tail).
        from server.cards.print_layout import PAGES_PER_RUN

        early = samples[min(len(samples) - 1, 1 + 1_000 // PAGES_PER_RUN)]
        late = max(samples)
        csv_seconds, csv_size, _ = _stream(client, f"/api/v1/merchant/batches/{csv_batch}/print.csv", token)

        with app.app_context():
            started = time.perf_counter()
            rows = db.session.execute(select(Card.card_no, Card.secret_encrypted)
                                      .where(Card.batch_id == csv_batch).order_by(Card.id)).all()
            read_seconds = time.perf_counter() - started
            assert len(rows) == CSV_CARDS
            del rows
            face = print_face(db.session, LocalDiskStorage(app.instance_path), db.session.get(Batch, pdf_batch))
            db.session.remove()
        baseline_seconds, baseline_growth = _reportlab_baseline(app, pdf_batch, face)
        with app.app_context():
            db.engine.dispose()

    print(f"print.pdf {PDF_CARDS:,} cards: {pdf_seconds:.2f} s, {pdf_size / 1e6:.1f} MB; RSS after 1,000 pages "
          f"{early:.0f} MB, peak {late:.0f} MB (one in-memory reportlab document grows {baseline_growth:.0f} MB)")
    print(f"print.csv {CSV_CARDS:,} cards: {csv_seconds:.2f} s, {csv_size / 1e6:.1f} MB")
    print(f"creating {CSV_CARDS:,} printed cards on activation: {create_seconds:.2f} s")
    return [
        {
            "name": f"stream print.pdf of {PDF_CARDS:,} printed cards",
            "figure": f"{pdf_seconds:.2f} s; RSS {early:.0f} MB after 1,000 pages, {late:.0f} MB peak",
            "baseline": f"{baseline_seconds:.2f} s, +{baseline_growth:.0f} MB RSS: one in-memory reportlab document",
            "ratio": f"{baseline_seconds / pdf_seconds:.2f}",
            "target": f"≤ {PDF_TARGET_SECONDS} s, flat memory",
        },
        {
            "name": f"stream print.csv of {CSV_CARDS:,} printed cards",
            "figure": f"{csv_seconds:.2f} s ({CSV_CARDS / csv_seconds:,.0f} cards/s)",
            "baseline": f"{read_seconds:.2f} s reading the rows without decrypting",
            "ratio": f"{read_seconds / csv_seconds:.2f}",
            "target": f"≤ {CSV_TARGET_SECONDS} s",
        },
        {
            "name": f"create {CSV_CARDS:,} printed cards when a physical batch becomes active",
            "figure": f"{create_seconds:.2f} s ({CSV_CARDS / create_seconds:,.0f} cards/s)",
            "baseline": "—",
            "ratio": "—",
            "target": "—",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
