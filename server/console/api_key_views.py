"""The API keys page (owner only): create a key — shown once, with a copy button — list the keys with
their prefix, scopes, mode and last use, and revoke one. Over the open platform's key services.
"""

from __future__ import annotations

from flask import Response, current_app, flash, g, make_response, render_template, request
from sqlalchemy import select

from server.console import pages
from server.console.auth import console_login_required
from server.console.forms import load_form
from server.console.merchant_views import blueprint
from server.console.pages import see_other
from server.db import db
from server.merchants.permissions import Action
from server.open import keys
from server.open.keys import CreatedKey
from server.open.models import ApiKey, Mode, Scope
from server.open.schemas import ApiKeyCreateSchema

#: How the page names each scope and mode.
SCOPE_LABELS = {Scope.CARDS_READ: "查询卡与流水", Scope.CARDS_WRITE: "发卡、充值", Scope.REDEEM: "核销、冲正",
                Scope.REPORTS_READ: "查看报表"}
MODE_LABELS = {Mode.LIVE: "正式", Mode.TEST: "测试"}


def _page(created: CreatedKey | None = None) -> str:
    rows = db.session.scalars(select(ApiKey).where(ApiKey.merchant_id == g.principal.merchant_id)
                              .order_by(ApiKey.id.desc()))
    return render_template("console/api_keys.html", keys=list(rows), created=created, scope_labels=SCOPE_LABELS,
                           mode_labels=MODE_LABELS)


@blueprint.get("/api-keys")
@console_login_required(Action.MANAGE_API_KEYS)
def api_keys() -> str:
    return _page()


@blueprint.post("/api-keys")
@pages.shows_errors_on("console.api_keys")
@console_login_required(Action.MANAGE_API_KEYS)
def create_api_key() -> Response:
    """Answers with the page itself, not a redirect: the key is shown in this one response and kept nowhere."""
    form = load_form(ApiKeyCreateSchema(), {"name": request.form.get("name", ""),
                                            "scopes": request.form.getlist("scopes"),
                                            "mode": request.form.get("mode", "")})
    created = keys.create_key(db.session, current_app.config, g.principal, **form)
    response = make_response(_page(created))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/api-keys/<int:api_key_id>/revoke")
@pages.shows_errors_on("console.api_keys")
@console_login_required(Action.MANAGE_API_KEYS)
def revoke_api_key(api_key_id: int) -> Response:
    row = keys.revoke_key(db.session, g.principal, api_key_id)
    flash(f"API 密钥「{row.name}」（{row.key_prefix}…）已吊销，使用它的调用将返回 401")
    return see_other(".api_keys")
