"""Platform console (/platform): admins review merchants (with their qualification images) and card
products (with their validation results), and read the whole audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for

from server.cards.numbers import explain_card_no_rule
from server.console import auth, pages
from server.console.audit_log import audit_page
from server.console.auth import ADMIN, platform_login_required
from server.console.forms import load_form, submitted_once
from server.db import db, utcnow
from server.merchants import wechat_pay
from server.merchants.models import MERCHANT_REQUIRED_DOCUMENTS, Merchant, MerchantStatus
from server.merchants.services import list_documents, missing_documents
from server.pagination import paginate
from server.platform import services as platform
from server.platform.models import PlatformAdmin
from server.platform.review_time import REVIEW_PROMISE_WORKING_DAYS, review_wait
from server.products import services as products
from server.products.models import CardProduct, ProductStatus
from server.products.schemas import ReviewSchema
from server.storage import document_storage

blueprint = Blueprint("platform_console", __name__, url_prefix="/platform")
pages.install(blueprint, error_template="platform/error.html")

PAGE_SIZE = 20


@blueprint.context_processor
def signed_in_admin() -> dict[str, Any]:
    principal = g.get("principal")
    return {"admin": db.session.get(PlatformAdmin, principal.id)} if principal is not None else {}


def _status_filter(default: str) -> str | None:
    """?status= of a review list: one status, or every status for "all"."""
    status = request.args.get("status", default)
    return None if status == "all" else status


# --- signing in ----------------------------------------------------------------------------------


@blueprint.get("/login")
def login() -> Response | str:
    return auth.login_page(ADMIN, "platform/login.html")


@blueprint.post("/login")
@pages.shows_errors_on("platform_console.login")
def login_submit() -> Response:
    return auth.login_with_password(ADMIN, platform.authenticate_admin)


@blueprint.post("/logout")
def logout() -> Response:
    return auth.logout(ADMIN)


@blueprint.get("/")
@platform_login_required
def home() -> Response:
    return redirect(url_for(".merchants"))


# --- merchants -----------------------------------------------------------------------------------


@blueprint.get("/merchants")
@platform_login_required
def merchants() -> str:
    status = _status_filter(MerchantStatus.PENDING_REVIEW)
    page = paginate(db.session, platform.merchants_by_status(status), Merchant.id, limit=PAGE_SIZE,
                    cursor=request.args.get("cursor"), serialize=lambda merchant: merchant)
    documents = {merchant.id: list_documents(db.session, merchant.id) for merchant in page["items"]}
    missing = {merchant.id: missing_documents(db.session, merchant.id, MERCHANT_REQUIRED_DOCUMENTS)
               for merchant in page["items"]}
    now = utcnow()
    # A merchant waits from registration; nothing moves it back to pending_review afterwards.
    waits = {merchant.id: review_wait(merchant.created_at, now) for merchant in page["items"]
             if merchant.status == MerchantStatus.PENDING_REVIEW}
    return render_template("platform/merchants.html", page=page, status=status, documents=documents, missing=missing,
                           waits=waits, promise=REVIEW_PROMISE_WORKING_DAYS,
                           statuses=list(MerchantStatus), reviewable=platform.REVIEWABLE,
                           shared_account=_shared_pay_account())


@blueprint.post("/merchants/<int:merchant_id>/review")
@pages.shows_errors_on("platform_console.merchants")
@platform_login_required
@submitted_once
def review_merchant(merchant_id: int) -> Response:
    form = load_form(ReviewSchema(), request.form)
    merchant = platform.review_merchant(db.session, g.principal.id, merchant_id, form["decision"], form["comment"])
    flash(f"商户「{merchant.name}」{'已通过审核' if form['decision'] == 'approve' else '已驳回'}")
    return redirect(url_for(".merchants"), code=303)


def _shared_pay_account() -> int | None:
    """Direct WeChat Pay mode with more than one approved merchant: how many share the one account."""
    if (current_app.config.get("WECHAT_PAY_MODE") or "direct") != "direct":
        return None
    count = wechat_pay.approved_merchant_count(db.session)
    return count if count > 1 else None


@blueprint.get("/documents/<int:document_id>")
@platform_login_required
def document(document_id: int) -> Response:
    """A qualification image, streamed for the reviewer's eyes only."""
    row, data = platform.document_file(db.session, document_storage(), document_id)
    return Response(data, content_type=row.content_type, headers={"Cache-Control": "private, no-store"})


# --- card products -------------------------------------------------------------------------------


@blueprint.get("/products")
@platform_login_required
def product_list() -> str:
    status = _status_filter(ProductStatus.PENDING_REVIEW)
    page = paginate(db.session, products.list_products(db.session, None, status), CardProduct.id, limit=PAGE_SIZE,
                    cursor=request.args.get("cursor"), serialize=lambda product: product)
    merchant_ids = {product.merchant_id for product in page["items"]}
    merchant_names = {m.id: m.name for m in db.session.scalars(
        platform.merchants_by_status(None).where(Merchant.id.in_(merchant_ids)))}
    missing = {product.id: missing_documents(db.session, product.merchant_id, products.approval_documents(product))
               for product in page["items"]}
    now = utcnow()
    # A pending product cannot be edited, so its last change is its submission.
    waits = {product.id: review_wait(product.updated_at, now) for product in page["items"]
             if product.status == ProductStatus.PENDING_REVIEW}
    return render_template("platform/products.html", page=page, status=status, merchant_names=merchant_names,
                           missing=missing, explain_card_no=explain_card_no_rule, waits=waits,
                           promise=REVIEW_PROMISE_WORKING_DAYS,
                           statuses=list(ProductStatus), fields_of=products.product_fields)


@blueprint.post("/products/<int:product_id>/review")
@pages.shows_errors_on("platform_console.product_list")
@platform_login_required
@submitted_once
def review_product(product_id: int) -> Response:
    form = load_form(ReviewSchema(), request.form)
    product = products.review_product(db.session, g.principal.id, product_id, form["decision"], form["comment"])
    flash(f"卡种「{product.name}」{'已通过审核' if form['decision'] == 'approve' else '已驳回'}")
    return redirect(url_for(".product_list"), code=303)


# --- audit log -----------------------------------------------------------------------------------


@blueprint.get("/audit")
@platform_login_required
def audit() -> str:
    return render_template("platform/audit.html", page=audit_page(None, request.args.get("cursor")))
