"""insert_row: an append-only row written with one INSERT and attached as if it had been loaded."""

from sqlalchemy import inspect, select

from server.audit.models import AuditEntry
from server.direct_writes import insert_row
from server.ledger.models import Journal
from server.merchants.models import Store
from tests import factories


def test_the_row_comes_back_complete_and_the_object_behaves_as_loaded(session):
    merchant = factories.merchant(session)
    entry = insert_row(session, AuditEntry(action="test.insert", actor_type="system", actor_id=None,
                                           merchant_id=merchant.id))
    assert entry.id and entry.created_at is not None and entry.detail == {}  # column defaults came back
    assert inspect(entry).persistent and session.get(AuditEntry, entry.id) is entry

    entry.detail = {"rows": 3}  # a later change is tracked and flushed like any loaded object's
    session.flush()
    session.expire(entry)
    assert entry.detail == {"rows": 3}
    session.rollback()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "test.insert")) is None


def test_pending_rows_it_refers_to_are_written_first(session):
    merchant = factories.merchant(session)
    store = Store(id=9_000_000_001, merchant_id=merchant.id, name="未写入的门店", region_code="310101")
    session.add(store)  # pending: only a flush writes it
    journal = insert_row(session, Journal(merchant_id=merchant.id, kind="adjust", actor_type="system",
                                          store_id=store.id))
    assert journal.store_id == store.id
    session.rollback()
