"""Members (会员): find a card by its number (or, through the open platform's lookups, a member's
phone or external id), see its balances, statement and status history, and freeze, unfreeze or
reactivate it with a reason."""

from __future__ import annotations

from flask import Response, flash, g, render_template, request

from server.cards import members
from server.console.auth import console_login_required
from server.console.merchant_views import blueprint
from server.console.pages import see_other, shows_errors_on
from server.db import db, utcnow
from server.merchants.permissions import Action

#: The page's messages after a status change.
_DONE = {"freeze": "卡已冻结，解冻前不能核销", "unfreeze": "卡已解冻，可以正常使用",
         "reactivate": "卡已重新激活，余额和次数保留"}


@blueprint.get("/cards")
@console_login_required(Action.VIEW_CARDS)
def members_page() -> str:
    query = request.args.get("q", "").strip()[:64]
    found = members.search_cards(db.session, g.principal.merchant_id, query) if query else []
    return render_template("console/members.html", query=query, found=found,
                           lookups=len(members.MEMBER_LOOKUPS))


@blueprint.get("/cards/<card_no>")
@console_login_required(Action.VIEW_CARDS)
def member_card(card_no: str) -> str:
    card = members.member_card(db.session, g.principal.merchant_id, card_no, cursor=request.args.get("cursor"))
    return render_template("console/member_card.html", card=card, status_events=members.STATUS_EVENTS)


def _change(card_no: str, event: str) -> Response:
    members.change_status(db.session, g.principal, card_no, event, request.form.get("reason", ""), utcnow())
    flash(_DONE[event])
    return see_other(".member_card", card_no=card_no)


@blueprint.post("/cards/<card_no>/freeze")
@shows_errors_on("console.member_card")
@console_login_required(Action.MANAGE_CARDS)
def freeze_card(card_no: str) -> Response:
    return _change(card_no, "freeze")


@blueprint.post("/cards/<card_no>/unfreeze")
@shows_errors_on("console.member_card")
@console_login_required(Action.MANAGE_CARDS)
def unfreeze_card(card_no: str) -> Response:
    return _change(card_no, "unfreeze")


@blueprint.post("/cards/<card_no>/reactivate")
@shows_errors_on("console.member_card")
@console_login_required(Action.REACTIVATE_CARDS)
def reactivate_card(card_no: str) -> Response:
    return _change(card_no, "reactivate")
