"""Members (会员): find a card, see its page, freeze / unfreeze / reactivate it with a reason, audited."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.cards import members
from server.cards.models import Card
from server.db import db, utcnow
from tests import factories
from tests.console.helpers import post_form


def _card_no(app, card_id: int) -> str:
    with app.app_context():
        return db.session.get(Card, card_id).card_no


def test_cards_are_found_by_number_or_its_last_digits_and_only_the_merchants_own(app, staff_client, counter):
    card_id = counter.card(principal_fen=12300)
    card_no = _card_no(app, card_id)
    with app.app_context():
        other = factories.card(db.session, factories.product(db.session, factories.merchant(db.session)),
                               card_no=card_no[:-4] + "9" + card_no[-3:])
        db.session.commit()
        other_no = other.card_no
    cashier = staff_client("cashier")
    for query in (card_no, card_no[-4:], f" {card_no[:4]} {card_no[4:]} "):
        page = cashier.get(f"/console/cards?q={query}").get_data(as_text=True)
        assert f'data-card-no="{card_no}"' in page and "¥123.00" in page and "微信用户 o_h***nid" in page, query
    assert f'data-card-no="{other_no}"' not in cashier.get(f"/console/cards?q={other_no}").get_data(as_text=True)
    assert "没有找到" in cashier.get("/console/cards?q=0000000").get_data(as_text=True)
    assert cashier.get(f"/console/cards/{other_no}").status_code == 404


def test_member_lookups_are_the_hook_for_phone_and_external_ids(app, staff_client, counter):
    card_id = counter.card(principal_fen=100)
    def lookup(session, merchant_id, query):
        return [card_id] if query == "13912345678" else []

    members.MEMBER_LOOKUPS.append(lookup)
    try:
        page = staff_client("owner").get("/console/cards?q=139 1234 5678").get_data(as_text=True)
    finally:
        members.MEMBER_LOOKUPS.remove(lookup)  # the open platform's own lookup stays registered
    assert f'data-card-no="{_card_no(app, card_id)}"' in page and "手机号或会员编号" in page


def test_the_card_page_shows_balances_and_its_statement(app, staff_client, counter):
    card_id = counter.card(principal_fen=10000, bonus_fen=1000)
    card_no = _card_no(app, card_id)
    counter.redeem(app.test_client(), code=counter.code(card_id)["qr"], amount_fen=2000)  # 1800 at 90%
    page = staff_client("cashier").get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert 'data-figure="balance">¥92.00' in page and "开卡" in page and "核销" in page
    assert re.search(r"<td>核销</td>.*?¥92.00", page, re.S)  # the balance after that redemption
    # A cashier changes no status but reports a named card lost, as at the card counter.
    assert re.findall(r'action="/console/cards/[0-9]+/([a-z-]+)"', page) == ["report-lost"]


def test_a_manager_freezes_and_unfreezes_with_a_reason_and_it_is_audited(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card_no(app, card_id)
    manager = staff_client("manager")
    refused = post_form(manager, f"/console/cards/{card_no}/freeze", {"reason": " "})
    assert refused.status_code == 400 and "请填写原因" in refused.get_data(as_text=True)
    frozen = post_form(manager, f"/console/cards/{card_no}/freeze", {"reason": "顾客来电挂失"},
                       environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert frozen.status_code == 303
    page = manager.get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert "卡已冻结" in page and "已冻结" in page and "顾客来电挂失" in page and "203.0.113.5" in page
    assert f"/console/cards/{card_no}/unfreeze" in page and f"/console/cards/{card_no}/freeze\"" not in page
    redeemed = counter.redeem(app.test_client(), code=counter.code(card_id)["qr"], amount_fen=100)
    assert redeemed.get_json()["error"]["code"] == "CARD_NOT_ACTIVE"
    assert post_form(manager, f"/console/cards/{card_no}/freeze", {"reason": "再冻一次"}).status_code == 409
    post_form(manager, f"/console/cards/{card_no}/unfreeze", {"reason": "顾客找回手机"})
    with app.app_context():
        assert db.session.get(Card, card_id).status == "active"
        actions = [(e.action, e.detail["reason"]) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_type == "card", AuditEntry.target_id == card_id)
            .order_by(AuditEntry.id))]
    assert actions == [("card.freeze", "顾客来电挂失"), ("card.unfreeze", "顾客找回手机")]
    assert post_form(staff_client("cashier"), f"/console/cards/{card_no}/freeze",
                     {"reason": "x"}).status_code == 403


def test_an_expired_card_is_reactivated_with_its_balance(app, staff_client, counter):
    card_id = counter.card(principal_fen=3000, status="expired", expires_at=utcnow() - timedelta(days=1))
    card_no = _card_no(app, card_id)
    owner = staff_client("owner")
    assert f"/console/cards/{card_no}/reactivate" in owner.get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert post_form(owner, f"/console/cards/{card_no}/reactivate", {"reason": "顾客申请延期"}).status_code == 303
    with app.app_context():
        card = db.session.get(Card, card_id)
        assert card.status == "active" and card.balance_fen == 3000
        assert card.expires_at is None or card.expires_at > utcnow()
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.reactivate"))
        assert entry.detail["reason"] == "顾客申请延期"


def test_the_card_page_reports_a_named_card_lost_and_leads_to_its_replacement(app, staff_client, counter):
    card_id = counter.card(principal_fen=5000)
    card_no = _card_no(app, card_id)
    cashier = staff_client("cashier")
    page = cashier.get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert f'action="/console/cards/{card_no}/report-lost"' in page and "data-replace-link" not in page
    refused = post_form(cashier, f"/console/cards/{card_no}/report-lost", {"reason": ""})
    assert refused.status_code == 400 and "请填写原因" in refused.get_data(as_text=True)
    lost = post_form(cashier, f"/console/cards/{card_no}/report-lost", {"reason": "顾客来店挂失，出示身份证"})
    assert lost.status_code == 303 and lost.headers["Location"] == f"/console/cards/{card_no}"
    shown = cashier.get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert "已挂失，此卡暂停使用；可为持卡人补办新卡" in shown and "顾客来店挂失，出示身份证" in shown
    assert "挂失</td>" in shown  # the history names the action in words
    with app.app_context():
        assert db.session.get(Card, card_id).status == "frozen"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.report_lost"))
        assert entry.detail == {"reason": "顾客来店挂失，出示身份证"}

    manager = staff_client("manager").get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert f'href="/console/card-counter?replace={card_no}#replace-form"' in manager
    assert f'action="/console/cards/{card_no}/report-lost"' not in manager  # already lost
    counter_page = staff_client("manager").get(f"/console/card-counter?replace={card_no}").get_data(as_text=True)
    assert re.search(r'id="replace-card-no"[^>]*value="' + card_no + '"', counter_page)


def test_an_unnamed_card_offers_no_report_lost(app, staff_client, counter):
    with app.app_context():
        product = db.session.get(factories.CardProduct, counter.product_ids["count"])
        product.named = False
        db.session.commit()
    card_no = _card_no(app, counter.card("count", uses=3))
    page = staff_client("owner").get(f"/console/cards/{card_no}").get_data(as_text=True)
    assert "/report-lost" not in page and "data-replace-link" not in page and "冻结</button>" in page
