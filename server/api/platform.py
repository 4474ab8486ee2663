"""Platform API: admin login, review of merchants and card products, qualification images."""

from __future__ import annotations

from flask import Response, jsonify

from server.api import docs_schemas as docs
from server.api.products import product_to_dict
from server.auth import PrincipalKind, current_principal, issue_token, require, token_ttl
from server.cards.numbers import explain_card_no_rule
from server.db import db
from server.extensions import get_redis
from server.merchants import wechat_pay
from server.merchants.models import MERCHANT_REQUIRED_DOCUMENTS, Merchant
from server.merchants.schemas import LoginSchema, WeChatPaySchema
from server.merchants.serializers import merchant_to_dict
from server.merchants.services import list_documents, missing_documents
from server.openapi import BINARY
from server.pagination import paginate
from server.platform import services
from server.products import services as products
from server.products.models import CardProduct
from server.products.schemas import ListArgs, ReviewSchema
from server.schemas import Blueprint
from server.storage import document_storage
from server.web import client_ip

blueprint = Blueprint("platform", __name__, url_prefix="/api/v1/platform", description="平台审核")
admin_only = require(PrincipalKind.ADMIN)


@blueprint.route("/login", methods=["POST"])
@blueprint.alt_response(200, schema=docs.AdminLoginSchema, success=True)
@blueprint.arguments(LoginSchema)
def login(body):
    principal = services.authenticate_admin(db.session, get_redis(), body["username"], body["password"], client_ip())
    return jsonify(token=issue_token(get_redis(), principal, token_ttl()), expires_in=token_ttl())


@blueprint.route("/merchants", methods=["GET"])
@blueprint.alt_response(200, schema=docs.MerchantPageSchema, success=True)
@admin_only
@blueprint.arguments(ListArgs, location="query")
def merchants(args):
    """Merchants, e.g. ?status=pending_review, with their qualification documents and the kinds approval
    still needs (``documents_missing``)."""
    return jsonify(paginate(
        db.session, services.merchants_by_status(args["status"]), Merchant.id, limit=args["limit"],
        cursor=args["cursor"], serialize=lambda m: {
            **merchant_to_dict(m, list_documents(db.session, m.id)),
            "documents_missing": missing_documents(db.session, m.id, MERCHANT_REQUIRED_DOCUMENTS)},
    ))


@blueprint.route("/merchants/<int:merchant_id>/review", methods=["POST"])
@blueprint.alt_response(200, schema=docs.MerchantSchema, success=True)
@admin_only
@blueprint.arguments(ReviewSchema)
def review_merchant(body, merchant_id: int):
    merchant = services.review_merchant(db.session, current_principal().id, merchant_id, body["decision"],
                                        body["comment"])
    return jsonify(merchant_to_dict(merchant))


@blueprint.route("/merchants/<int:merchant_id>/wechat-pay", methods=["PUT"])
@blueprint.alt_response(200, schema=docs.MerchantSchema, success=True)
@admin_only
@blueprint.arguments(WeChatPaySchema)
def merchant_wechat_pay(body, merchant_id: int):
    """Partner mode (服务商): the merchant's WeChat Pay sub-merchant id, where its payments go."""
    merchant = wechat_pay.set_sub_mchid(db.session, current_principal().id, merchant_id, body["sub_mchid"])
    return jsonify(merchant_to_dict(merchant))


@blueprint.route("/documents/<int:document_id>", methods=["GET"])
@blueprint.alt_response(200, schema=BINARY, content_type="image/png", success=True, description="资质图片（PNG）")
@blueprint.alt_response(200, schema=BINARY, content_type="image/jpeg", success=True, description="资质图片（JPEG）")
@admin_only
def document(document_id: int):
    """A qualification image, for the reviewer's eyes only."""
    row, data = services.document_file(db.session, document_storage(), document_id)
    response = Response(data, content_type=row.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/card-products", methods=["GET"])
@blueprint.alt_response(200, schema=docs.ProductPageSchema, success=True)
@admin_only
@blueprint.arguments(ListArgs, location="query")
def card_products(args):
    """Products, e.g. ?status=pending_review, with their validation results, their card-number rule
    explained (``card_no_explanation``) and the merchant's documents approval still needs."""
    stmt = products.list_products(db.session, None, args["status"])
    return jsonify(paginate(db.session, stmt, CardProduct.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=lambda p: {
                                **product_to_dict(p), "card_no_explanation": explain_card_no_rule(p.card_no_rule),
                                "documents_missing": missing_documents(db.session, p.merchant_id,
                                                                       products.approval_documents(p))}))


@blueprint.route("/card-products/<int:product_id>/review", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@admin_only
@blueprint.arguments(ReviewSchema)
def review_product(body, product_id: int):
    product = products.review_product(db.session, current_principal().id, product_id, body["decision"],
                                      body["comment"])
    return jsonify(product_to_dict(product))
