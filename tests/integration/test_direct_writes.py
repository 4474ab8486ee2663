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


def test_a_deferred_row_is_written_before_the_next_read_and_dropped_by_a_rollback(session):
    merchant = factories.merchant(session)
    entry = insert_row(session, AuditEntry(action="test.deferred", actor_type="system", actor_id=None,
                                           merchant_id=merchant.id), defer=True)
    assert entry.id is None and not inspect(entry).persistent  # no id given: the database chooses it later
    found = session.scalar(select(AuditEntry).where(AuditEntry.action == "test.deferred"))
    assert found is not None and found.detail == {} and found.created_at is not None  # defaults applied
    insert_row(session, AuditEntry(action="test.dropped", actor_type="system", actor_id=None), defer=True)
    session.rollback()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action.like("test.%"))) is None


def test_a_deferred_row_with_its_id_given_is_attached_as_loaded(session):
    merchant = factories.merchant(session)
    journal = insert_row(session, Journal(id=9_000_000_002, merchant_id=merchant.id, kind="adjust",
                                          actor_type="system"), defer=True)
    assert inspect(journal).persistent and session.get(Journal, 9_000_000_002) is journal
    assert journal.mode == "live" and journal.created_at is not None
    session.expire(journal)
    assert journal.kind == "adjust"  # read back from the row the queue wrote first
    session.rollback()


def test_inside_a_savepoint_nothing_is_deferred(session):
    merchant = factories.merchant(session)
    with session.begin_nested() as savepoint:
        insert_row(session, AuditEntry(action="test.nested", actor_type="system", actor_id=None,
                                       merchant_id=merchant.id), defer=True)
        savepoint.rollback()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "test.nested")) is None
    session.rollback()
