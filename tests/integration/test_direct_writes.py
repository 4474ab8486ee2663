"""insert_row: an append-only row written with one INSERT and attached as if it had been loaded; read_row: a
SELECT run on the driver, its row handed back as loaded objects."""

from sqlalchemy import bindparam, inspect, select

from server.audit.models import AuditEntry
from server.cards.models import Card
from server.direct_writes import RowShape, insert_row, read_row, update_committed
from server.ledger.models import Journal
from server.merchants.models import Store
from server.products.models import CardProduct
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


_CARD_AND_STORE = RowShape(Card, CardProduct, Store, Card.card_no)
_READ = (_CARD_AND_STORE.select().select_from(Card)
         .join(CardProduct, CardProduct.id == Card.product_id)
         .outerjoin(Store, Store.id == bindparam("store_id"))
         .where(Card.id == bindparam("card_id")))


def test_read_row_hands_back_objects_as_if_loaded(session):
    merchant = factories.merchant(session)
    product = factories.product(session, merchant, kind="stored_value")
    card = factories.card(session, product, principal_fen=500)
    session.commit()
    card_id, product_id, card_no, expires_at = card.id, product.id, card.card_no, card.created_at
    session.expunge_all()

    read_card, read_product, no_store, number = read_row(session, _CARD_AND_STORE, _READ,
                                                         {"card_id": card_id, "store_id": -1})
    assert (read_card.id, read_card.principal_fen, read_product.id, number) == (card_id, 500, product_id, card_no)
    assert no_store is None  # an outer join that found nothing
    assert read_card.created_at == expires_at and read_card.created_at.tzinfo is not None  # types processed
    assert inspect(read_card).persistent and session.get(Card, card_id) is read_card
    assert session.get(CardProduct, product_id) is read_product  # one object per row, as the ORM keeps it

    read_card.principal_fen = 400  # a later change is tracked and flushed like any loaded object's
    session.flush()
    session.rollback()
    assert read_card.principal_fen == 500


def test_read_row_refreshes_the_sessions_object_and_sees_the_deferred_writes_before_it(session):
    merchant = factories.merchant(session)
    product = factories.product(session, merchant, kind="stored_value")
    card = factories.card(session, product, principal_fen=500)
    session.commit()
    update_committed(session, card, {"principal_fen": 300}, defer=True)
    card.__dict__["principal_fen"] = 999  # what a stale copy in the session would hold
    read_card, *_ = read_row(session, _CARD_AND_STORE, _READ, {"card_id": card.id, "store_id": -1})
    assert read_card is card and card.principal_fen == 300  # the queued UPDATE went first, in its round trip
    session.rollback()
