"""The platform console warns when direct WeChat Pay mode serves more than one approved merchant."""

from __future__ import annotations

from server.db import db
from tests import factories
from tests.console.helpers import post_form

WARNING = 'data-warning="direct-pay-shared"'


def test_approving_a_second_merchant_in_direct_mode_shows_the_warning(app, admin_client, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PAY_MODE", "direct")
    with app.app_context():
        factories.merchant(db.session, name="第一家")
        second = factories.merchant(db.session, name="第二家", status="pending_review")
        factories.documents(db.session, second)
        db.session.commit()
        second_id = second.id
    assert WARNING not in admin_client.get("/platform/merchants").get_data(as_text=True)

    approved = post_form(admin_client, f"/platform/merchants/{second_id}/review",
                         {"decision": "approve", "comment": "资料齐全"}, follow_redirects=True)
    page = approved.get_data(as_text=True)
    assert "已通过审核" in page and WARNING in page
    assert "已有 2 家商户通过审核" in page and "WECHAT_PAY_MODE=partner" in page

    monkeypatch.setitem(app.config, "WECHAT_PAY_MODE", "partner")  # each merchant its own sub-merchant
    assert WARNING not in admin_client.get("/platform/merchants").get_data(as_text=True)
