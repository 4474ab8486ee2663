"""POST /api/v1/mp/login: ``wx.login`` code → our own opaque consumer token (never the session_key)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, jsonify

from miniprogram_api import docs_schemas as docs
from server.auth import Principal, PrincipalKind, issue_token, token_ttl
from server.consumers.services import login_with_code
from server.db import db
from server.extensions import get_redis
from server.schemas import Blueprint, Schema
from server.wechat.adapters import get_wechat_client

blueprint = Blueprint("mp_auth", __name__, url_prefix="/api/v1/mp", description="小程序登录")


class MpLoginSchema(Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


@blueprint.route("/login", methods=["POST"])
@blueprint.alt_response(200, schema=docs.ConsumerLoginSchema, success=True)
@blueprint.arguments(MpLoginSchema)
def login(body):
    """Log in with the code from ``wx.login``; 400 WECHAT_CODE_INVALID when WeChat refuses it."""
    consumer = login_with_code(db.session, get_wechat_client(), current_app.config, body["code"])
    token = issue_token(get_redis(), Principal(PrincipalKind.CONSUMER, consumer.id), token_ttl())
    return jsonify(token=token, expires_in=token_ttl(), consumer_id=consumer.id)
