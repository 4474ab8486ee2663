"""Merchant API of printed cards (实体卡): print files, activation at the counter, report-lost, replacement."""

from __future__ import annotations

from flask import current_app, jsonify

from server.auth import current_principal
from server.cards import physical
from server.cards.face_links import face_links
from server.cards.schemas import ActivateSchema, ReplaceSchema
from server.db import db
from server.idempotency import idempotent
from server.issuance.downloads import print_file_download
from server.merchants.permissions import Action, staff_action
from server.open.schemas import CardSchema
from server.openapi import BINARY, CSV
from server.redemption.services import staff_card_view
from server.schemas import Blueprint
from server.storage import document_storage

blueprint = Blueprint("physical_cards", __name__, url_prefix="/api/v1/merchant", description="实体卡")


def _card_answer(card_no: str) -> dict:
    """The card as staff see it, with its full number (staff sell and hand over printed cards)."""
    return {**staff_card_view(db.session, face_links(), current_principal(), card_no), "card_no": card_no}


@blueprint.route("/batches/<int:batch_id>/print.csv", methods=["GET"])
@blueprint.alt_response(200, schema=CSV, content_type="text/csv", success=True,
                        description="card_no,secret,barcode：每行一张卡（流式）")
@staff_action(Action.PRINT_CARDS)
def print_csv(batch_id: int):
    """``card_no,secret,barcode`` of every card of a physical batch, for the print shop (streamed, audited)."""
    return print_file_download(db.session, current_app.config, document_storage(), current_principal(), batch_id,
                               "csv")


@blueprint.route("/batches/<int:batch_id>/print.pdf", methods=["GET"])
@blueprint.alt_response(200, schema=BINARY, content_type="application/pdf", success=True,
                        description="每张卡一页 CR80（85.60 × 53.98 mm，含 3 mm 出血）")
@staff_action(Action.PRINT_CARDS)
def print_pdf(batch_id: int):
    """One CR80 page per card: face over a 3 mm bleed, number, Code 128 barcode, scratch-off secret."""
    return print_file_download(db.session, current_app.config, document_storage(), current_principal(), batch_id,
                               "pdf")


@blueprint.route("/cards/<card_no>/activate", methods=["POST"])
@blueprint.alt_response(200, schema=CardSchema, success=True)
@staff_action(Action.SELL_CARDS)
@idempotent
@blueprint.arguments(ActivateSchema)
def activate(body, card_no: str):
    """Sell an inactive printed card: ``paid_fen`` (the batch price) is booked to till_clearing."""
    physical.activate_card(db.session, current_principal(), card_no, store_id=body["store_id"],
                           paid_fen=body["paid_fen"])
    return jsonify(_card_answer(card_no))


@blueprint.route("/cards/<card_no>/report-lost", methods=["POST"])
@blueprint.alt_response(200, schema=CardSchema, success=True)
@staff_action(Action.REPORT_LOST)
def report_lost(card_no: str):
    """Freeze a named card (挂失) on its holder's request; 422 NOT_NAMED for an unnamed card."""
    physical.report_lost_at_counter(db.session, current_principal(), card_no)
    return jsonify(_card_answer(card_no))


@blueprint.route("/cards/<card_no>/replace", methods=["POST"])
@blueprint.alt_response(201, schema=CardSchema, success=True)
@staff_action(Action.REPLACE_CARDS)
@idempotent
@blueprint.arguments(ReplaceSchema)
def replace(body, card_no: str):
    """201 the new card holding exactly the old card's balances, uses and points; the old one ends replaced."""
    new = physical.replace_card(db.session, current_app.config, current_principal(), card_no, body["new_card_no"])
    return jsonify(_card_answer(new.card_no)), 201
