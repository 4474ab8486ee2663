"""Console pages of issuance: channels, batches with their dual approval, and redemption codes.

Each page calls the issuance services exactly as the JSON API does (server/issuance/views.py); the
code download is the API's own answer, so its CSV and its voiding of an interrupted download are
the same code.
"""

from __future__ import annotations

from flask import Response, current_app, flash, g, render_template, request
from sqlalchemy import select

from server.console.auth import console_login_required
from server.console.forms import given, load_form, split_list, submitted_once
from server.console.merchant_views import blueprint
from server.console.pages import see_other, shows_errors_on
from server.db import db
from server.extensions import get_redis
from server.issuance import codes as code_service
from server.issuance import services
from server.issuance.downloads import codes_download
from server.issuance.models import Batch, BatchStatus, Channel, ChannelKind, IssueMethod
from server.issuance.schemas import CreateBatchSchema, CreateChannelSchema, GenerateCodesSchema
from server.issuance.serializers import batch_to_dict
from server.merchants import services as merchants
from server.merchants.permissions import Action
from server.pagination import paginate
from server.products import services as products
from server.products.models import CardProduct, ProductStatus


def _names(model: type[CardProduct] | type[Channel]) -> dict[int, str]:
    """Id → name of the merchant's products or channels, for the lists."""
    rows = db.session.execute(select(model.id, model.name).where(model.merchant_id == g.principal.merchant_id))
    return dict(rows.tuples().all())


# --- channels ------------------------------------------------------------------------------------


@blueprint.get("/channels")
@console_login_required(Action.VIEW_BATCHES)
def channels() -> str:
    rows = db.session.scalars(services.list_channels(g.principal.merchant_id).order_by(Channel.id))
    return render_template("console/channels.html", channels=list(rows), kinds=list(ChannelKind))


@blueprint.post("/channels")
@shows_errors_on("console.channels")
@console_login_required(Action.MANAGE_CHANNELS)
def create_channel() -> Response:
    form = {**given(request.form), "allow_coupon_stacking": request.form.get("allow_coupon_stacking") == "1"}
    channel = services.create_channel(db.session, g.principal,
                                      load_form(CreateChannelSchema(), form, yuan=("cost_per_card_fen",)))
    flash(f"渠道「{channel.name}」已创建")
    return see_other(".channels")


# --- batches -------------------------------------------------------------------------------------


@blueprint.get("/batches")
@console_login_required(Action.VIEW_BATCHES)
def batches() -> str:
    status = request.args.get("status") or None
    page = paginate(db.session, services.list_batches(g.principal.merchant_id, status=status), Batch.id,
                    limit=20, cursor=request.args.get("cursor"), serialize=lambda batch: batch)
    return render_template("console/batches.html", page=page, status=status, statuses=list(BatchStatus),
                           product_names=_names(CardProduct), channel_names=_names(Channel))


@blueprint.get("/batches/new")
@console_login_required(Action.MANAGE_BATCHES)
def new_batch() -> str:
    published = db.session.scalars(products.list_products(db.session, g.principal.merchant_id,
                                                          ProductStatus.PUBLISHED).order_by(CardProduct.id))
    channel_rows = db.session.scalars(services.list_channels(g.principal.merchant_id).order_by(Channel.id))
    return render_template("console/batch_form.html", products=list(published), channels=list(channel_rows),
                           methods=list(IssueMethod))


@blueprint.post("/batches")
@shows_errors_on("console.new_batch")
@console_login_required(Action.MANAGE_BATCHES)
def create_batch() -> Response:
    form = {**given(request.form), "region_codes": split_list(request.form.get("region_codes", ""))}
    fields = load_form(CreateBatchSchema(), form, integers=("product_id", "channel_id", "quantity", "per_user_limit"),
                       yuan=("price_fen",))
    batch = services.create_batch(db.session, g.principal, fields, current_app.config)
    flash("发行批次已创建，须经运营与财务审批后开始发行" if batch.status == BatchStatus.PENDING_APPROVAL
          else "发行批次已创建并开始发行")
    return see_other(".batch", batch_id=batch.id)


@blueprint.get("/batches/<int:batch_id>")
@console_login_required(Action.VIEW_BATCHES)
def batch(batch_id: int) -> str:
    row = services.get_batch(db.session, g.principal.merchant_id, batch_id)
    codes = code_service.code_counts(db.session, row.id) if row.issue_method == IssueMethod.CODE else None
    details = batch_to_dict(row, services.approvals_of(db.session, [row.id])[row.id], codes)
    return render_template(
        "console/batch.html", batch=details,
        product=products.get_product(db.session, g.principal.merchant_id, row.product_id),
        channel=services.get_channel(db.session, g.principal.merchant_id, row.channel_id),
        approval_roles=list(services.APPROVAL_ACTIONS), given={a["role"]: a for a in details["approvals"]},
        staff_names={member.id: member.username for member in merchants.list_staff(db.session, g.principal)},
    )


@blueprint.post("/batches/<int:batch_id>/approve")
@shows_errors_on("console.batch")
@console_login_required(Action.APPROVE_AS_OPERATIONS, Action.APPROVE_AS_FINANCE)
@submitted_once
def approve_batch(batch_id: int) -> Response:
    """The service decides which approval the signed-in role gives (an owner gives the missing one)."""
    approved = services.approve_batch(db.session, g.principal, batch_id, current_app.config)
    flash("审批完成，批次已开始发行" if approved.status == BatchStatus.ACTIVE else "已记录审批，等待另一角色审批")
    return see_other(".batch", batch_id=batch_id)


@blueprint.post("/batches/<int:batch_id>/codes")
@shows_errors_on("console.batch")
@console_login_required(Action.GENERATE_CODES)
def generate_codes(batch_id: int) -> Response:
    """The CSV download of docs/api.md: the only time the plaintext codes exist."""
    body = load_form(GenerateCodesSchema(), request.form, integers=("count",))
    return codes_download(db.session, get_redis(), current_app.config, g.principal, batch_id, body["count"])
