"""Merchant API: registration, login, profile, qualification documents, stores and staff."""

from __future__ import annotations

from flask import jsonify, request

from server.api import docs_schemas as docs
from server.auth import current_principal, issue_token, token_ttl
from server.db import db
from server.errors import ValidationError
from server.extensions import get_redis
from server.merchants import services
from server.merchants.permissions import Action, staff_action
from server.merchants.schemas import DocumentFormSchema, LoginSchema, RegisterSchema, StaffSchema, StoreSchema
from server.merchants.serializers import document_to_dict, merchant_to_dict, staff_to_dict, store_to_dict
from server.schemas import Blueprint
from server.storage import document_storage
from server.web import client_ip

blueprint = Blueprint("merchant", __name__, url_prefix="/api/v1/merchant", description="商户入驻、门店与员工")


@blueprint.route("/register", methods=["POST"])
@blueprint.alt_response(201, schema=docs.RegisteredMerchantSchema, success=True)
@blueprint.arguments(RegisterSchema)
def register(body):
    """Register a merchant with its qualification data; it starts in pending_review."""
    merchant = services.register_merchant(db.session, services.Registration(**body), ip=client_ip())
    return jsonify(merchant_id=merchant.id, status=merchant.status), 201


@blueprint.route("/login", methods=["POST"])
@blueprint.alt_response(200, schema=docs.StaffLoginSchema, success=True)
@blueprint.arguments(LoginSchema)
def login(body):
    principal = services.authenticate_staff(db.session, get_redis(), body["username"], body["password"], client_ip())
    token = issue_token(get_redis(), principal, token_ttl())
    return jsonify(token=token, expires_in=token_ttl(), merchant_id=principal.merchant_id, staff_id=principal.id,
                   role=principal.role, store_id=principal.store_id)


@blueprint.route("/profile", methods=["GET"])
@blueprint.alt_response(200, schema=docs.MerchantSchema, success=True)
@staff_action(Action.VIEW_MERCHANT)
def profile():
    """The caller's merchant with its review status and comment."""
    actor = current_principal()
    merchant = services.get_merchant(db.session, actor.merchant_id)
    return jsonify(merchant_to_dict(merchant, services.list_documents(db.session, merchant.id)))


@blueprint.route("/documents", methods=["POST"])
@blueprint.alt_response(201, schema=docs.DocumentSchema, success=True)
@staff_action(Action.UPLOAD_DOCUMENTS)
@blueprint.arguments(DocumentFormSchema, location="form")
def upload_document(form):
    """Upload a qualification image (multipart: kind, file) for the platform reviewer."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": "请选择图片文件"})
    document = services.upload_document(db.session, document_storage(), current_principal(), kind=form["kind"],
                                        data=upload.read(services.DOCUMENT_MAX_BYTES + 1))
    return jsonify(document_to_dict(document)), 201


@blueprint.route("/stores", methods=["POST"])
@blueprint.alt_response(201, schema=docs.StoreInfoSchema, success=True)
@staff_action(Action.MANAGE_STORES)
@blueprint.arguments(StoreSchema)
def create_store(body):
    store = services.create_store(db.session, current_principal(), **body)
    return jsonify(store_to_dict(store)), 201


@blueprint.route("/stores", methods=["GET"])
@blueprint.alt_response(200, schema=docs.StorePageSchema, success=True)
@staff_action(Action.VIEW_STORES)
def list_stores():
    return jsonify(items=[store_to_dict(s) for s in services.list_stores(db.session, current_principal())],
                   next_cursor=None)


@blueprint.route("/staff", methods=["POST"])
@blueprint.alt_response(201, schema=docs.StaffMemberSchema, success=True)
@staff_action(Action.MANAGE_STAFF)
@blueprint.arguments(StaffSchema)
def create_staff(body):
    staff = services.create_staff(db.session, current_principal(), **body)
    return jsonify(staff_to_dict(staff)), 201


@blueprint.route("/staff", methods=["GET"])
@blueprint.alt_response(200, schema=docs.StaffPageSchema, success=True)
@staff_action(Action.VIEW_STAFF)
def list_staff():
    return jsonify(items=[staff_to_dict(s) for s in services.list_staff(db.session, current_principal())],
                   next_cursor=None)
