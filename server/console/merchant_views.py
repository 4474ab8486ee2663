"""Merchant console (/console): sign-in, dashboard, template gallery and product wizard, products,
stores, staff, qualification documents and the audit log — each page over the API's domain services.
Issuance, the cashier's counter and reports add their pages to this blueprint from their own modules.

Every form post answers with a redirect (303) on success, or with its page re-rendered around the
error (pages.py); the request boundary commits or rolls back.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, jsonify, render_template, request, url_for

from server.auth import Principal
from server.cards.face_links import face_links
from server.console import auth, pages
from server.console.audit_log import audit_page
from server.console.auth import STAFF, console_login_required, permitted
from server.console.forms import load_form, load_product_form, product_from_form
from server.console.pages import see_other
from server.console.reporting import dashboard_figures
from server.db import db
from server.errors import NotFound, ValidationError
from server.merchants import services as merchants
from server.merchants.models import DocumentKind, MerchantKind, Staff, StaffRole
from server.merchants.permissions import Action
from server.merchants.schemas import DocumentFormSchema, RegisterSchema, StaffSchema, StoreSchema
from server.pagination import paginate
from server.products import services as products
from server.products.models import PRODUCT_LIFECYCLE, CardProduct, ProductStatus
from server.products.validation import DEDUCTION_ORDERS, FORMS, KINDS, VALIDITY_TYPES, product_refund_example
from server.regions import region_tree
from server.storage import document_storage
from server.templates_library import get_template, load_templates
from server.timeutil import shanghai_today
from server.web import client_ip

blueprint = Blueprint("console", __name__, url_prefix="/console")
pages.install(blueprint, error_template="console/error.html")

#: The posts that carry the product wizard: after a refusal the wizard shows what was typed.
_WIZARD_POSTS = frozenset({"console.create_product", "console.update_product"})
#: The wizard's drop-down lists: the values smart validation accepts.
_CHOICES = {"kind": KINDS, "form": FORMS, "deduction_order": DEDUCTION_ORDERS, "validity_type": VALIDITY_TYPES}


@blueprint.context_processor
def signed_in_staff() -> dict[str, Any]:
    """The merchant and staff member of the page, for the header."""
    principal = g.get("principal")
    if principal is None:
        return {}
    return {"merchant": merchants.get_merchant(db.session, principal.merchant_id),
            "me": db.session.get(Staff, principal.id)}


# --- signing in ----------------------------------------------------------------------------------


def _landing(principal: Principal) -> str | None:
    """Cashiers start at the counter; everyone else at the dashboard."""
    return url_for("console.redeem_page") if principal.role == StaffRole.CASHIER else None


@blueprint.get("/login")
def login() -> Response | str:
    return auth.login_page(STAFF, "console/login.html", _landing)


@blueprint.post("/login")
@pages.shows_errors_on("console.login")
def login_submit() -> Response:
    return auth.login_with_password(STAFF, merchants.authenticate_staff, _landing)


@blueprint.get("/signup")
def signup() -> Response | str:
    """Merchant self sign-up (商户入驻): the registration of the API, with the qualification images."""
    if auth.signed_in(STAFF) is not None and request.method == "GET":
        return see_other(".dashboard")
    industries = sorted({(template["industry"], template["industry_name"]) for template in load_templates()})
    return render_template("console/signup.html", kinds=list(DocumentKind), industries=industries,
                           merchant_kinds=list(MerchantKind))


@blueprint.post("/signup")
@pages.shows_errors_on("console.signup")
def signup_submit() -> Response:
    """Every problem of the form and its files at once; then the merchant, its owner and documents."""
    documents = {kind.value: upload.read(merchants.DOCUMENT_MAX_BYTES + 1) for kind in DocumentKind
                 if (upload := request.files.get(f"document_{kind.value}")) is not None and upload.filename}
    problems: dict[str, str] = {}
    try:
        fields = load_form(RegisterSchema(), request.form)
    except ValidationError as error:
        problems = dict(error.details["fields"])
    if request.form.get("password") != request.form.get("password_confirm"):
        problems["password_confirm"] = "两次输入的密码不一致"
    problems |= merchants.document_problems(documents)
    if problems:
        raise ValidationError(problems)
    owner = merchants.sign_up(db.session, document_storage(), merchants.Registration(**fields), documents,
                              ip=client_ip())
    auth.sign_in(STAFF, owner)
    flash("入驻申请已提交，平台审核通过后即可发布卡种、发卡和核销" if documents
          else "入驻申请已提交；请上传营业执照等资质文件，平台审核通过后即可发布卡种、发卡和核销")
    return see_other(".dashboard")


@blueprint.post("/logout")
def logout() -> Response:
    return auth.logout(STAFF)


# --- dashboard -----------------------------------------------------------------------------------


@blueprint.get("/")
@console_login_required()
def dashboard() -> str:
    actor = g.principal
    figures: dict[str, Any] = {"stores": len(merchants.list_stores(db.session, actor))}
    if permitted("console.staff"):
        figures["staff"] = len(merchants.list_staff(db.session, actor))
    if permitted("console.product_list"):
        counts = Counter(p.status for p in db.session.scalars(products.list_products(db.session, actor.merchant_id)))
        figures["products"] = {status: counts[status] for status in ProductStatus if counts[status]}
    report = dashboard_figures(shanghai_today()) if permitted("console.reports") else None
    return render_template("console/dashboard.html", figures=figures, report=report)


# --- template gallery and product wizard ---------------------------------------------------------


@blueprint.get("/templates")
@console_login_required(Action.MANAGE_PRODUCTS)
def templates() -> str:
    links = face_links()
    gallery = [{**template, "face_image_url": links.template(template["code"])} for template in load_templates()]
    return render_template("console/templates.html", templates=gallery)


def _wizard(fields: dict[str, Any], *, product: CardProduct | None, template: dict[str, Any] | None) -> str:
    """The product wizard, with the current findings placed beside their fields by console.js.

    Editable products are validated afresh (what a submit would find); the findings shown for
    others are those recorded when they were last saved. A refused save adds its field messages."""
    editable = product is None or PRODUCT_LIFECYCLE.allows(product.status, "edit")
    editable = editable and permitted("console.update_product")
    findings = products.run_validation(db.session, g.principal.merchant_id,
                                       {**fields, "face_image": products.face_size(product)}) if editable \
        else product.validation
    error = g.get("error")
    if isinstance(error, ValidationError):
        explained = {finding["field"] for finding in findings["errors"]}
        refused = [{"field": path, "code": error.code, "message": message}
                   for path, message in error.details["fields"].items() if path not in explained]
        findings = {**findings, "errors": refused + findings["errors"]}
    return render_template(
        "console/product_form.html", fields=fields, product=product, template=template, editable=editable,
        findings=findings, stores=merchants.list_stores(db.session, g.principal), choices=_CHOICES,
        refund_example=product_refund_example(fields),
    )


def _fields_shown(stored: dict[str, Any]) -> dict[str, Any]:
    """What the merchant typed when the wizard is shown again after a refused save, else ``stored``."""
    return product_from_form(request.form) if request.endpoint in _WIZARD_POSTS else stored


@blueprint.get("/products/new")
@console_login_required(Action.MANAGE_PRODUCTS)
def new_product() -> str:
    template = get_template(request.values.get("template_code", ""))
    if template is None:
        raise NotFound("模板不存在，请从模板库选择")
    return _wizard(_fields_shown(template["defaults"]), product=None, template=template)


def _saved(product: CardProduct) -> Response:
    """After a save: submit for review too when the merchant pressed 保存并提交审核."""
    if request.form.get("intent") == "submit":
        products.submit_product(db.session, g.principal, product.id)
        flash("已提交平台审核")
    else:
        flash("草稿已保存")
    return see_other(".product", product_id=product.id)


@blueprint.post("/products")
@pages.shows_errors_on("console.new_product")
@console_login_required(Action.MANAGE_PRODUCTS)
def create_product() -> Response:
    fields = load_product_form(request.form)
    product = products.create_product(db.session, g.principal, fields, request.form.get("template_code") or None)
    return _saved(product)


@blueprint.post("/products/validate")
@console_login_required(Action.VIEW_PRODUCTS)
def validate_product() -> Response:
    """Live validation for the wizard's script: ``{errors, warnings}`` of the form as typed."""
    return jsonify(products.run_validation(db.session, g.principal.merchant_id, product_from_form(request.form)))


@blueprint.get("/products")
@console_login_required(Action.VIEW_PRODUCTS)
def product_list() -> str:
    status = request.args.get("status") or None
    page = paginate(db.session, products.list_products(db.session, g.principal.merchant_id, status), CardProduct.id,
                    limit=20, cursor=request.args.get("cursor"), serialize=lambda product: product)
    return render_template("console/products.html", page=page, status=status, statuses=list(ProductStatus))


@blueprint.get("/products/<int:product_id>")
@console_login_required(Action.VIEW_PRODUCTS)
def product(product_id: int) -> str:
    row = products.get_product(db.session, g.principal.merchant_id, product_id)
    return _wizard(_fields_shown(products.product_fields(row)), product=row,
                   template=get_template(row.template_code or ""))


@blueprint.post("/products/<int:product_id>")
@pages.shows_errors_on("console.product")
@console_login_required(Action.MANAGE_PRODUCTS)
def update_product(product_id: int) -> Response:
    return _saved(products.update_product(db.session, g.principal, product_id, load_product_form(request.form)))


@blueprint.post("/products/<int:product_id>/face")
@pages.shows_errors_on("console.product")
@console_login_required(Action.MANAGE_PRODUCTS)
def upload_face(product_id: int) -> Response:
    """The card's face artwork (a physical product's must be print-sized: FACE_SIZE otherwise)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": "请选择卡面图片"})
    product = products.set_face_image(db.session, g.principal, document_storage(), product_id,
                                      upload.read(products.MAX_FACE_BYTES + 1))
    face = product.face_image
    flash(f"卡面图片已上传（{face['width']}×{face['height']} 像素）")
    return see_other(".product", product_id=product_id)


@blueprint.post("/products/<int:product_id>/submit")
@pages.shows_errors_on("console.product")
@console_login_required(Action.MANAGE_PRODUCTS)
def submit_product(product_id: int) -> Response:
    products.submit_product(db.session, g.principal, product_id)
    flash("已提交平台审核")
    return see_other(".product", product_id=product_id)


@blueprint.post("/products/<int:product_id>/publish")
@pages.shows_errors_on("console.product")
@console_login_required(Action.PUBLISH_PRODUCTS)
def publish_product(product_id: int) -> Response:
    products.publish_product(db.session, g.principal, product_id,
                             require_test_run=current_app.config["TEST_RUN_REQUIRED"])
    flash("卡种已发布")
    return see_other(".product", product_id=product_id)


@blueprint.post("/products/<int:product_id>/retire")
@pages.shows_errors_on("console.product")
@console_login_required(Action.PUBLISH_PRODUCTS)
def retire_product(product_id: int) -> Response:
    products.retire_product(db.session, g.principal, product_id)
    flash("卡种已下架，已发出的卡仍可使用")
    return see_other(".product", product_id=product_id)


def can_happen(product: CardProduct, event: str) -> bool:
    """Whether the product lifecycle allows ``event`` now (the services' transition table decides)."""
    return PRODUCT_LIFECYCLE.allows(product.status, event)


# --- stores, staff, documents --------------------------------------------------------------------


@blueprint.get("/regions.json")
def regions_data() -> Response:
    """The GB/T 2260 tree the region picker offers (public: the sign-up page uses it too)."""
    response = jsonify(region_tree())
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@blueprint.get("/stores")
@console_login_required(Action.VIEW_STORES)
def stores() -> str:
    return render_template("console/stores.html", stores=merchants.list_stores(db.session, g.principal))


@blueprint.post("/stores")
@pages.shows_errors_on("console.stores")
@console_login_required(Action.MANAGE_STORES)
def create_store() -> Response:
    store = merchants.create_store(db.session, g.principal, **load_form(StoreSchema(), request.form))
    flash(f"门店「{store.name}」已创建")
    return see_other(".stores")


@blueprint.get("/staff")
@console_login_required(Action.VIEW_STAFF)
def staff() -> str:
    stores = merchants.list_stores(db.session, g.principal)
    return render_template("console/staff.html", staff=merchants.list_staff(db.session, g.principal), stores=stores,
                           store_names={s.id: s.name for s in stores}, roles=list(StaffRole))


@blueprint.post("/staff")
@pages.shows_errors_on("console.staff")
@console_login_required(Action.MANAGE_STAFF)
def create_staff() -> Response:
    form = load_form(StaffSchema(), request.form, integers=("store_id",))
    member = merchants.create_staff(db.session, g.principal, **form)
    flash(f"员工账号「{member.username}」已创建")
    return see_other(".staff")


@blueprint.get("/documents")
@console_login_required(Action.UPLOAD_DOCUMENTS)
def documents() -> str:
    return render_template("console/documents.html",
                           documents=merchants.list_documents(db.session, g.principal.merchant_id),
                           kinds=list(DocumentKind))


@blueprint.post("/documents")
@pages.shows_errors_on("console.documents")
@console_login_required(Action.UPLOAD_DOCUMENTS)
def upload_document() -> Response:
    form = load_form(DocumentFormSchema(), request.form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": "请选择图片文件"})
    merchants.upload_document(db.session, document_storage(), g.principal, kind=form["kind"],
                              data=upload.read(merchants.DOCUMENT_MAX_BYTES + 1))
    flash("资质文件已上传，等待平台审核")
    return see_other(".documents")


# --- audit log -----------------------------------------------------------------------------------


@blueprint.get("/audit")
@console_login_required(Action.VIEW_AUDIT)
def audit() -> str:
    return render_template("console/audit.html",
                           page=audit_page(g.principal.merchant_id, request.args.get("cursor")))
