"""The cashier's counter: scan-to-redeem, the redemptions list, and reversal (冲正).

Redeeming and reversing move money, so the pages' script posts JSON with an Idempotency-Key to
endpoints under the API's own ``@idempotent``: a double Enter or a retried request replays the first
answer (the same receipt) and never deducts twice. The console's guard sets ``g.principal``, the
caller ``@idempotent`` and the services need.
"""

from __future__ import annotations

from flask import Response, current_app, flash, g, jsonify, render_template, request

from server.console.auth import console_login_required
from server.console.filters import money
from server.console.forms import given, load_form
from server.console.merchant_views import blueprint
from server.console.pages import json_body
from server.db import db
from server.errors import AppError
from server.extensions import get_redis
from server.idempotency import idempotent
from server.merchants import services as merchants
from server.merchants.permissions import Action
from server.pagination import paginate
from server.redemption import services as redemption
from server.redemption.models import Redemption, RedemptionStatus
from server.redemption.schemas import PreviewSchema, RedeemSchema, RedemptionListArgs, ReverseSchema
from server.timeutil import day_bounds

#: A printed card's number and secret that do not match (the one answer for every reason).
PRINTED_CARD_REFUSED = "卡号或卡密不正确，请核对卡背面的卡号和刮开涂层下的卡密"


def cashier_message(error: AppError) -> str:
    """What the cashier should tell the customer, for the refusals met at the counter."""
    details = error.details
    if error.code == "CODE_INVALID":
        return "会员码无效或已过期，请顾客刷新会员码后重新扫码"
    if error.code == "INSUFFICIENT_BALANCE":
        return f"余额不足：卡内余额 {money(details['balance_fen'])}，本次应付 {money(details['payable_fen'])}"
    if error.code == "INSUFFICIENT_USES":
        return f"剩余次数不足：卡内剩余 {details['remaining_uses']} 次，本次核销 {details['requested']} 次"
    if error.code == "INSUFFICIENT_POINTS":
        return f"积分不足：卡内剩余 {details['points']} 积分"
    if error.code == "VALIDATION_ERROR" and details.get("fields"):
        return "；".join(details["fields"].values())
    return error.message


@blueprint.get("/redeem")
@console_login_required(Action.REDEEM)
def redeem_page() -> str:
    """The scan page; its first Idempotency-Key is rendered with it, the script makes the next ones."""
    stores = [store for store in merchants.list_stores(db.session, g.principal) if store.active]
    return render_template("console/redeem.html", stores=stores)


@blueprint.post("/redeem")
@console_login_required(Action.REDEEM)
@idempotent
def redeem() -> Response:
    """Redeem as ``POST /api/v1/merchant/redeem`` does; the answer carries the receipt and its HTML."""
    try:
        fields = load_form(RedeemSchema(), json_body(), integers=("store_id", "uses", "redeem_points"),
                           yuan=("amount_fen",))
        receipt = redemption.redeem(db.session, get_redis(), current_app.config, g.principal,
                                    redemption.RedeemRequest(**fields))
    except AppError as error:
        number, separator, _ = str(json_body().get("code", "")).partition(":")
        printed = error.code == "CODE_INVALID" and bool(separator) and number.strip().isdigit()
        error.message = PRINTED_CARD_REFUSED if printed else cashier_message(error)
        raise
    store = merchants.get_store(db.session, g.principal.merchant_id, receipt["store_id"])
    return jsonify(receipt=receipt, html=render_template("console/_receipt.html", receipt=receipt, store=store))


@blueprint.post("/redeem/preview")
@console_login_required(Action.REDEEM)
def redeem_preview() -> Response:
    """The card a scanned code names, shown before the cashier confirms; the code stays usable."""
    try:
        fields = load_form(PreviewSchema(), json_body(), integers=("store_id",))
        card = redemption.preview(db.session, get_redis(), current_app.config, g.principal,
                                  fields["code"], fields["store_id"])
    except AppError as error:
        error.message = cashier_message(error)
        raise
    return jsonify(card=card, html=render_template("console/_card_preview.html", card=card))


@blueprint.get("/redemptions")
@console_login_required(Action.VIEW_REDEMPTIONS)
def redemptions() -> str:
    """Redemptions newest first, filtered by day, cashier, status and store (store-bound staff: their store)."""
    args = load_form(RedemptionListArgs(), given(request.args))
    since, until = day_bounds(args["date"], args["date"])
    stmt = redemption.redemptions_query(g.principal, store_id=args["store_id"], staff_id=args["staff_id"],
                                        status=args["status"], since=since, until=until)
    page = paginate(db.session, stmt, Redemption.id, limit=args["limit"], cursor=args["cursor"],
                    serialize=lambda row: redemption.redemption_row(db.session, row))
    stores, staff = merchants.list_stores(db.session, g.principal), merchants.list_staff(db.session, g.principal)
    return render_template(
        "console/redemptions.html", page=page, args=args, statuses=list(RedemptionStatus), stores=stores, staff=staff,
        store_names={store.id: store.name for store in stores},
        staff_names={member.id: member.username for member in staff},
    )


@blueprint.post("/redemptions/<int:redemption_id>/reverse")
@console_login_required(Action.REVERSE)
@idempotent
def reverse_redemption(redemption_id: int) -> Response:
    """Reverse as ``POST /api/v1/merchant/redemptions/{id}/reverse`` does, with the API's answer."""
    body = load_form(ReverseSchema(), json_body())
    reversed_ = redemption.reverse(db.session, g.principal, redemption_id, body["reason"],
                                   current_app.config["REVERSAL_WINDOW_HOURS"])
    flash("已冲正，核销的金额、次数和积分已退回卡内")
    return jsonify(redemption.reversal_answer(db.session, reversed_))
