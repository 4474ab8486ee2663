"""Members (会员): find a card by its number (or, through the open platform's lookups, a member's
phone or external id), see its balances, statement and status history, and freeze, unfreeze or
reactivate it with a reason, report a named card lost (the physical-cards service, with the reason) and
go to its replacement at the card counter. Those posts and the points exchange run ``@submitted_once``:
a form submitted twice changes the card once and answers the same redirect."""

from __future__ import annotations

from flask import Response, flash, g, render_template, request

from server.cards import members, physical
from server.cards.models import Card
from server.console.auth import console_login_required
from server.console.forms import load_form, submitted_once
from server.console.merchant_views import blueprint
from server.console.pages import see_other, shows_errors_on
from server.db import db, utcnow
from server.errors import ValidationError
from server.merchants import services as merchants
from server.merchants.permissions import Action
from server.rewards import services as rewards
from server.rewards.models import RewardKind
from server.rewards.schemas import ExchangeFormSchema, RewardFormSchema

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
    row = db.session.get(Card, card["card_id"])
    stores = [store for store in merchants.list_stores(db.session, g.principal) if store.active]
    return render_template("console/member_card.html", card=card, status_events=members.STATUS_EVENTS,
                           rewards=rewards.rewards_for_card(db.session, row), stores=stores)


@blueprint.post("/cards/<card_no>/exchange")
@shows_errors_on("console.member_card")
@console_login_required(Action.REDEEM)
@submitted_once
def exchange_reward(card_no: str) -> Response:
    """积分兑换 at the counter: the card's points for a reward of the catalogue."""
    fields = load_form(ExchangeFormSchema(), request.form, integers=("reward_id", "store_id"))
    done = rewards.staff_exchange(db.session, g.principal, card_no, fields["reward_id"], fields["store_id"])
    flash(f"已兑换「{done['reward_name']}」，扣除 {done['points_spent']} 积分，剩余 {done['points_balance']} 积分")
    return see_other(".member_card", card_no=card_no)


@blueprint.get("/rewards")
@console_login_required(Action.VIEW_PRODUCTS)
def rewards_page() -> str:
    return render_template("console/rewards.html", rewards=rewards.list_rewards(db.session, g.principal.merchant_id),
                           kinds=list(RewardKind))


@blueprint.post("/rewards")
@shows_errors_on("console.rewards_page")
@console_login_required(Action.MANAGE_PRODUCTS)
def create_reward() -> Response:
    fields = load_form(RewardFormSchema(), request.form, integers=("points_price", "stock", "uses"),
                       yuan=("value_fen",))
    reward = rewards.create_reward(db.session, g.principal, **fields)
    flash(f"兑换商品「{reward.name}」已上架")
    return see_other(".rewards_page")


def _change(card_no: str, event: str) -> Response:
    members.change_status(db.session, g.principal, card_no, event, request.form.get("reason", ""), utcnow())
    flash(_DONE[event])
    return see_other(".member_card", card_no=card_no)


@blueprint.post("/cards/<card_no>/freeze")
@shows_errors_on("console.member_card")
@console_login_required(Action.MANAGE_CARDS)
@submitted_once
def freeze_card(card_no: str) -> Response:
    return _change(card_no, "freeze")


@blueprint.post("/cards/<card_no>/unfreeze")
@shows_errors_on("console.member_card")
@console_login_required(Action.MANAGE_CARDS)
@submitted_once
def unfreeze_card(card_no: str) -> Response:
    return _change(card_no, "unfreeze")


@blueprint.post("/cards/<card_no>/report-lost")
@shows_errors_on("console.member_card")
@console_login_required(Action.REPORT_LOST)
@submitted_once
def report_card_lost(card_no: str) -> Response:
    """挂失 on the holder's request, as at the card counter, with the reason in the audit log."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写原因"})
    physical.report_lost_at_counter(db.session, g.principal, card_no, reason)
    flash("已挂失，此卡暂停使用；可为持卡人补办新卡")
    return see_other(".member_card", card_no=card_no)


@blueprint.post("/cards/<card_no>/reactivate")
@shows_errors_on("console.member_card")
@console_login_required(Action.REACTIVATE_CARDS)
@submitted_once
def reactivate_card(card_no: str) -> Response:
    return _change(card_no, "reactivate")
