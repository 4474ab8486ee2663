"""Downloads of a batch — newly generated redemption codes, a physical batch's print files — the API's
and the console's answer alike.

A boundary helper, not a service: it builds the HTTP answer, and if the client goes away mid-stream
it voids the run in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, stream_with_context
from redis import Redis
from sqlalchemy.orm import Session

from server.auth import Principal
from server.cards import print_layout
from server.issuance import codes as code_service
from server.issuance import print_files
from server.ratelimit import throttle
from server.storage import DocumentStorage

log = logging.getLogger(__name__)

#: Code generations per merchant per hour: each may write 100,000 rows.
CODE_GENERATIONS_PER_HOUR = 20


def codes_download(
    session: Session, redis: Redis, config: Mapping[str, Any], actor: Principal, batch_id: int, count: int
) -> Response:
    """Generate ``count`` codes and answer them as a CSV download (the API's and the console's answer).

    The codes are stored before the response starts (the request boundary commits them); the body
    then streams from memory. Should the client go away mid-download, the stream voids the whole run
    in a transaction of its own, so no code survives that nobody received in full."""
    throttle(redis, f"codes:generate:{actor.merchant_id}", limit=CODE_GENERATIONS_PER_HOUR, window_seconds=3600)
    codes = code_service.generate_codes(session, config, actor, batch_id, count)

    def void_interrupted_run() -> None:
        try:
            code_service.void_codes(session, config, actor, batch_id, codes, reason="兑换码下载中断")
            session.commit()
        except Exception:
            session.rollback()
            log.exception("could not void the %d codes of an interrupted download, batch %s", len(codes), batch_id)

    return Response(
        stream_with_context(code_service.codes_csv(codes, void_interrupted_run)),
        status=201,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-codes.csv"',
                 "Cache-Control": "no-store"},
    )


def print_file_download(session: Session, config: Mapping[str, Any], storage: DocumentStorage, actor: Principal,
                        batch_id: int, file_format: str) -> Response:
    """A physical batch's ``print.csv`` or ``print.pdf``, streamed (the API's and the console's answer).

    The audit entry is committed by the request boundary before the body starts; the cards are then
    read in chunks while the file streams."""
    batch = print_files.printable_batch(session, actor, batch_id, file_format)
    cards = print_files.batch_cards(session, config, batch.id)
    if file_format == "csv":
        body, mimetype = print_layout.print_csv(cards), "text/csv"
    else:
        face = print_files.print_face(session, storage, batch)
        body, mimetype = print_layout.print_pdf(cards, face, title=f"batch {batch.id}"), "application/pdf"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}-print.{file_format}"',
                 "Cache-Control": "no-store"},
    )
