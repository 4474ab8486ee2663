"""Merchant registration, login (rate-limited), profile and qualification documents."""

import io

import pytest
from PIL import Image

from tests.conftest import admin_headers
from tests.factories import license_no_for

REGISTRATION = {
    "merchant_name": "阿明烘焙", "kind": "individual", "industry": "bakery", "region_code": "310104",
    "license_no": license_no_for(990001), "legal_person": "王阿明", "contact_phone": "13812345678",
    "username": "aming", "password": "correct-horse-battery",
}


def _register(client, **overrides):
    return client.post("/api/v1/merchant/register", json={**REGISTRATION, **overrides})


def _login(client, username="aming", password=REGISTRATION["password"]):
    return client.post("/api/v1/merchant/login", json={"username": username, "password": password})


def test_register_then_login_as_owner(client):
    response = _register(client)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending_review"
    login = _login(client)
    assert login.status_code == 200
    data = login.get_json()
    assert data["role"] == "owner" and data["merchant_id"] == body["merchant_id"] and data["store_id"] is None
    profile = client.get("/api/v1/merchant/profile", headers={"Authorization": f"Bearer {data['token']}"})
    assert profile.get_json()["status"] == "pending_review"


@pytest.mark.parametrize(
    ("field", "value"),
    [("license_no", "91310000MA1FL0DE0X"), ("license_no", "123"), ("region_code", "999999"),
     ("contact_phone", "12345"), ("kind", "franchise"), ("password", "short"), ("username", "a b")],
)
def test_bad_qualification_data_names_the_field(client, field, value):
    response = _register(client, **{field: value})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]["fields"]


def test_licence_and_username_are_unique(client):
    assert _register(client).status_code == 201
    again = _register(client, username="other")
    assert again.status_code == 400 and "license_no" in again.get_json()["error"]["details"]["fields"]
    taken = _register(client, license_no=license_no_for(990002))
    assert taken.status_code == 400 and "username" in taken.get_json()["error"]["details"]["fields"]


def test_wrong_password_is_401_and_the_sixth_try_is_429(client):
    _register(client)
    for _ in range(5):
        assert _login(client, password="wrong-password").status_code == 401
    blocked = _login(client)  # even the right password waits out the lock
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["error"]["code"] == "RATE_LIMITED"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    _register(client)
    unknown = _login(client, username="nobody").get_json()["error"]
    wrong = _login(client, password="nope-nope-nope").get_json()["error"]
    assert unknown == wrong


def _png(width=200, height=120) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_qualification_images_are_checked_and_shown_to_the_reviewer(client, app):
    _register(client)
    owner = {"Authorization": f"Bearer {_login(client).get_json()['token']}"}
    upload = client.post("/api/v1/merchant/documents", headers=owner, content_type="multipart/form-data",
                         data={"kind": "business_license", "file": (io.BytesIO(_png()), "licence.png")})
    assert upload.status_code == 201, upload.get_json()
    document = upload.get_json()
    assert document["content_type"] == "image/png"

    fake = client.post("/api/v1/merchant/documents", headers=owner, content_type="multipart/form-data",
                       data={"kind": "business_license", "file": (io.BytesIO(b"%PDF-1.4 not an image"), "x.png")})
    assert fake.status_code == 400 and "file" in fake.get_json()["error"]["details"]["fields"]
    missing = client.post("/api/v1/merchant/documents", headers=owner, content_type="multipart/form-data",
                          data={"kind": "legal_person_id"})
    assert missing.status_code == 400

    admin = admin_headers(app)
    pending = client.get("/api/v1/platform/merchants?status=pending_review", headers=admin).get_json()["items"]
    assert [d["document_id"] for d in pending[0]["documents"]] == [document["document_id"]]
    image = client.get(document["url"], headers=admin)
    assert image.status_code == 200 and image.data == _png()
    assert client.get(document["url"], headers=owner).status_code == 403
