"""Console tests through the Flask client: sign in, read the CSRF token a page carries, post forms."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from server.auth import Principal, PrincipalKind, issue_token
from server.console.auth import ADMIN, SESSION_SECONDS, STAFF, Realm
from server.db import db
from server.extensions import get_redis
from server.platform.models import PlatformAdmin
from server.products import services as products


def _enter(app, client: FlaskClient, realm: Realm, principal: Principal) -> FlaskClient:
    """A client whose session is signed in as ``principal`` (what a successful login leaves)."""
    with app.app_context():
        token = issue_token(get_redis(), principal, SESSION_SECONDS)
    with client.session_transaction() as session:
        session[realm.session_key] = token
    return client


@pytest.fixture
def staff_client(app, shop) -> Callable[[str], FlaskClient]:
    """A fresh client signed in as the shop's staff member of ``role`` (the cashier at shop.store_id), or
    as another member of the shop given by ``staff_id`` and ``store_id``."""

    def signed_in(role: str, staff_id: int | None = None, store_id: int | None = None) -> FlaskClient:
        if staff_id is None:
            staff_id, store_id = shop.staff_ids[role], shop.store_id if role == "cashier" else None
        principal = Principal(PrincipalKind.STAFF, staff_id, merchant_id=shop.merchant_id, role=role,
                              store_id=store_id)
        return _enter(app, app.test_client(), STAFF, principal)

    return signed_in


@pytest.fixture
def admin_client(app) -> FlaskClient:
    with app.app_context():
        admin = PlatformAdmin(username="reviewer", password_hash="signed in without a password")
        db.session.add(admin)
        db.session.commit()
        principal = Principal(PrincipalKind.ADMIN, admin.id)
    return _enter(app, app.test_client(), ADMIN, principal)


@pytest.fixture
def make_product(app, shop) -> Callable[..., int]:
    """A product of the shop made from a template through the product service, then set to ``status``."""

    def make(template_code: str = "bakery_stored_value", status: str = "draft", **fields) -> int:
        with app.app_context():
            owner = Principal(PrincipalKind.STAFF, shop.staff_ids["owner"], merchant_id=shop.merchant_id, role="owner")
            product = products.create_product(db.session, owner, fields, template_code)
            product.status = status
            db.session.commit()
            return product.id

    return make
