"""`flask demo` uploads every qualification document an approval needs, once, so review flows work on it."""

from sqlalchemy import select

from server.db import db
from server.merchants.models import MERCHANT_REQUIRED_DOCUMENTS, PREPAID_REQUIRED_DOCUMENTS, MerchantDocument
from server.merchants.services import missing_documents
from server.storage import document_storage


def test_the_demo_merchant_has_every_document_once(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        documents = db.session.scalars(select(MerchantDocument)).all()
        required = (*MERCHANT_REQUIRED_DOCUMENTS, *PREPAID_REQUIRED_DOCUMENTS)
        assert sorted(d.kind for d in documents) == sorted(required)
        assert missing_documents(db.session, documents[0].merchant_id, required) == []
        for document in documents:
            assert document_storage().load(document.storage_key).startswith(b"\x89PNG")
