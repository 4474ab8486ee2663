"""Merchant self sign-up in the console: the API's registration with its documents, every problem at once."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.db import db
from server.merchants.models import Merchant, MerchantDocument
from tests.console.helpers import csrf_token
from tests.factories import license_no_for


@pytest.fixture
def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _form(**changes) -> dict:
    form = {"merchant_name": "街角面包房", "kind": "individual", "industry": "bakery", "region_code": "330106",
            "license_no": license_no_for(90001), "legal_person": "王小明", "contact_phone": "13912345678",
            "username": "corner_bakery", "password": "bread-2026-ok", "password_confirm": "bread-2026-ok"}
    return {**form, **changes}


def _post(client, data: dict):
    return client.post("/console/signup", data={"csrf_token": csrf_token(client), **data},
                       content_type="multipart/form-data", environ_base={"REMOTE_ADDR": "192.0.2.44"})


def test_a_merchant_signs_up_with_documents_and_lands_signed_in(app, png):
    client = app.test_client()
    page = client.get("/console/signup").get_data(as_text=True)
    assert "商户入驻" in page and 'name="document_business_license"' in page and "data-region-picker" in page
    response = _post(client, {**_form(), "document_business_license": (io.BytesIO(png), "license.png"),
                              "document_legal_person_id": (io.BytesIO(png), "id.png")})
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    dashboard = client.get("/console/").get_data(as_text=True)
    assert "入驻申请已提交" in dashboard and "待审核" in dashboard and "街角面包房" in dashboard
    with app.app_context():
        merchant = db.session.scalar(select(Merchant).where(Merchant.name == "街角面包房"))
        assert merchant.status == "pending_review" and merchant.region_code == "330106"
        kinds = set(db.session.scalars(
            select(MerchantDocument.kind).where(MerchantDocument.merchant_id == merchant.id)))
        assert kinds == {"business_license", "legal_person_id"}
        registered = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "merchant.register",
                                                                AuditEntry.merchant_id == merchant.id))
        assert registered.ip == "192.0.2.44"


def test_every_problem_of_the_sign_up_form_is_listed_at_once(app):
    client = app.test_client()
    response = _post(client, {**_form(merchant_name="", contact_phone="123", password_confirm="other"),
                              "document_business_license": (io.BytesIO(b"not an image"), "license.png")})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="alert alert-error error-summary".*?</div>', html, re.S)[0]
    for field in ("merchant_name", "contact_phone", "password_confirm", "document_business_license"):
        assert f'href="#error-{field}"' in summary, field
    assert "两次输入的密码不一致" in summary and "请上传 PNG、JPEG 或 WebP 图片" in summary
    assert 'value="王小明"' in html  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(Merchant).where(Merchant.name == "")) is None
