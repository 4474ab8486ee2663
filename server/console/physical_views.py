"""Console pages of printed cards (实体卡): selling and activating at the counter, report-lost,
replacement, and a physical batch's print files.

The counter page's script posts JSON under an Idempotency-Key rendered with each form (activation
and replacement move money, report-lost changes the card's status) to endpoints under the API's own
``@idempotent``, exactly like scan-to-redeem; the print files are the API's own streamed answer.
"""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, render_template

from server.cards import physical
from server.cards.face_links import face_links
from server.cards.schemas import CounterActivateSchema, CounterCardSchema, CounterReplaceSchema
from server.console.auth import console_login_required
from server.console.filters import money
from server.console.forms import load_form
from server.console.merchant_views import blueprint
from server.console.pages import json_body
from server.db import db
from server.idempotency import idempotent
from server.issuance.downloads import print_file_download
from server.merchants import services as merchants
from server.merchants.permissions import Action
from server.redemption.services import staff_card_view
from server.storage import document_storage


def _answer(card_no: str, message: str) -> Response:
    card = staff_card_view(db.session, face_links(), g.principal, card_no)
    return jsonify(card={**card, "card_no": card_no}, message=message)


@blueprint.get("/card-counter")
@console_login_required(Action.SELL_CARDS, Action.REPORT_LOST, Action.REPLACE_CARDS)
def card_counter() -> str:
    """Sell (activate), report lost and replace printed cards; a scanner types the number and Enter."""
    stores = [store for store in merchants.list_stores(db.session, g.principal) if store.active]
    return render_template("console/card_counter.html", stores=stores)


@blueprint.post("/card-counter/activate")
@console_login_required(Action.SELL_CARDS)
@idempotent
def activate_card() -> Response:
    """Activate as ``POST /api/v1/merchant/cards/{card_no}/activate`` does (the amount typed in yuan)."""
    body = load_form(CounterActivateSchema(), json_body(), integers=("store_id",), yuan=("paid_fen",))
    card = physical.activate_card(db.session, g.principal, body["card_no"], store_id=body["store_id"],
                                  paid_fen=body["paid_fen"])
    return _answer(card.card_no, f"已激活，实收 {money(body['paid_fen'])}，卡内余额 {money(card.balance_fen)}")


@blueprint.post("/card-counter/report-lost")
@console_login_required(Action.REPORT_LOST)
@idempotent
def report_lost() -> Response:
    body = load_form(CounterCardSchema(), json_body())
    card = physical.report_lost_at_counter(db.session, g.principal, body["card_no"])
    return _answer(card.card_no, "已挂失，此卡暂停使用；可为持卡人补办新卡")


@blueprint.post("/card-counter/replace")
@console_login_required(Action.REPLACE_CARDS)
@idempotent
def replace_card() -> Response:
    body = load_form(CounterReplaceSchema(), json_body())
    new = physical.replace_card(db.session, current_app.config, g.principal, body["card_no"], body["new_card_no"])
    return _answer(new.card_no, f"补办完成：新卡 {new.card_no}，余额、次数和积分已全部转入，原卡已作废")


@blueprint.get("/batches/<int:batch_id>/print.<any(csv, pdf):file_format>")
@console_login_required(Action.PRINT_CARDS)
def print_file(batch_id: int, file_format: str) -> Response:
    """A physical batch's print file, the API's own streamed answer (audited)."""
    return print_file_download(db.session, current_app.config, document_storage(), g.principal, batch_id,
                               file_format)
