"""Template library and the merchant's card-product API."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from server.api import docs_schemas as docs
from server.auth import current_principal
from server.cards.face_links import face_links
from server.db import db
from server.errors import ValidationError
from server.merchants.permissions import Action, staff_action
from server.pagination import paginate
from server.products import services
from server.products.models import CardProduct
from server.products.schemas import CreateProductSchema, FaceUploadSchema, ListArgs, ProductFieldsSchema
from server.schemas import Blueprint
from server.storage import document_storage
from server.templates_library import get_template, load_templates
from server.timeutil import iso

blueprint = Blueprint("products", __name__, url_prefix="/api/v1", description="行业模板与卡种")


def product_to_dict(product: CardProduct) -> dict[str, Any]:
    return {
        "product_id": product.id,
        "merchant_id": product.merchant_id,
        "status": product.status,
        "template_code": product.template_code,
        "review_comment": product.review_comment,
        "validation": product.validation,
        "face_image_url": face_links().product(product.id),
        "face_image": ({"width": product.face_image["width"], "height": product.face_image["height"]}
                       if product.face_image else None),
        "created_at": iso(product.created_at),
        "updated_at": iso(product.updated_at),
        "test_run_passed_at": iso(product.test_run_passed_at),
        "last_test_run": product.last_test_run or None,
        **services.product_fields(product),
    }


@blueprint.route("/templates", methods=["GET"])
@blueprint.alt_response(200, schema=docs.TemplateListSchema, success=True)
def templates():
    """The industry template library: complete product configurations a merchant customises."""
    links = face_links()
    return jsonify(items=[{**t, "face_image_url": links.template(t["code"])} for t in load_templates()])


@blueprint.route("/merchant/card-products/validate", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ValidationResultSchema, success=True)
@staff_action(Action.VIEW_PRODUCTS)
def validate():
    """Smart validation of any product draft; never a 400 — wrong types come back as findings."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError({"body": "请求体应为 JSON 对象"})
    fields = dict(body)
    template_code = fields.pop("template_code", None)
    if template_code:
        template = get_template(str(template_code))
        if template is None:
            raise ValidationError({"template_code": "模板不存在"})
        fields = {**template["defaults"], **fields}
    return jsonify(services.run_validation(db.session, current_principal().merchant_id, fields))


@blueprint.route("/merchant/card-products", methods=["POST"])
@blueprint.alt_response(201, schema=docs.ProductSchema, success=True)
@staff_action(Action.MANAGE_PRODUCTS)
@blueprint.arguments(CreateProductSchema)
def create(body):
    template_code = body.pop("template_code", None)
    product = services.create_product(db.session, current_principal(), body, template_code)
    return jsonify(product_to_dict(product)), 201


@blueprint.route("/merchant/card-products", methods=["GET"])
@blueprint.alt_response(200, schema=docs.ProductPageSchema, success=True)
@staff_action(Action.VIEW_PRODUCTS)
@blueprint.arguments(ListArgs, location="query")
def list_products(args):
    stmt = services.list_products(db.session, current_principal().merchant_id, args["status"])
    return jsonify(paginate(db.session, stmt, CardProduct.id, limit=args["limit"], cursor=args["cursor"],
                            serialize=product_to_dict))


@blueprint.route("/merchant/card-products/<int:product_id>", methods=["GET"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.VIEW_PRODUCTS)
def get(product_id: int):
    return jsonify(product_to_dict(services.get_product(db.session, current_principal().merchant_id, product_id)))


@blueprint.route("/merchant/card-products/<int:product_id>", methods=["PATCH"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.MANAGE_PRODUCTS)
@blueprint.arguments(ProductFieldsSchema(partial=True))
def update(body, product_id: int):
    product = services.update_product(db.session, current_principal(), product_id, body)
    return jsonify(product_to_dict(product))


@blueprint.route("/merchant/card-products/<int:product_id>/face", methods=["PUT"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.MANAGE_PRODUCTS)
@blueprint.arguments(FaceUploadSchema, location="files")
def upload_face(files, product_id: int):
    """Multipart ``file`` (PNG or JPEG): the card's face artwork; a physical product's must be print-sized
    (≥ 1011 × 638 px at the CR80 ratio, else FACE_SIZE among the validation errors)."""
    product = services.set_face_image(db.session, current_principal(), document_storage(), product_id,
                                      files["file"].read())
    return jsonify(product_to_dict(product))


@blueprint.route("/merchant/card-products/<int:product_id>/submit", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.MANAGE_PRODUCTS)
def submit(product_id: int):
    return jsonify(product_to_dict(services.submit_product(db.session, current_principal(), product_id)))


@blueprint.route("/merchant/card-products/<int:product_id>/publish", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.PUBLISH_PRODUCTS)
def publish(product_id: int):
    return jsonify(product_to_dict(services.publish_product(
        db.session, current_principal(), product_id, require_test_run=current_app.config["TEST_RUN_REQUIRED"])))


@blueprint.route("/merchant/card-products/<int:product_id>/retire", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ProductSchema, success=True)
@staff_action(Action.PUBLISH_PRODUCTS)
def retire(product_id: int):
    return jsonify(product_to_dict(services.retire_product(db.session, current_principal(), product_id)))
