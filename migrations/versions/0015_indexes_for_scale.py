"""Indexes for scale. Dropped: those the hot path's inserts paid for and no query needs, merchant_id
alone on journals, ledger entries and redemptions (their composite indexes lead with it) and on
idempotency records (never looked up by it): five fewer index insertions per redemption. Added: a
partial index of issue entries, so a report's card sales by channel read those few entries instead of
scanning every journal.

Revision ID: 0015_indexes_for_scale
Revises: 0014_idempotent_forms
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015_indexes_for_scale'
down_revision = '0014_idempotent_forms'
branch_labels = None
depends_on = None

_DROPPED = [
    ('journals', 'ix_journals_merchant_id'),
    ('ledger_entries', 'ix_ledger_entries_merchant_id'),
    ('redemptions', 'ix_redemptions_merchant_id'),
    ('idempotency_records', 'ix_idempotency_records_merchant_id'),
]
_ISSUES = sa.text("kind = 'issue'")


def upgrade():
    for table, index in _DROPPED:
        op.drop_index(index, table_name=table)
    op.create_index('ix_ledger_entries_issues', 'ledger_entries', ['merchant_id', 'created_at'], unique=False,
                    postgresql_where=_ISSUES, sqlite_where=_ISSUES)


def downgrade():
    op.drop_index('ix_ledger_entries_issues', table_name='ledger_entries',
                  postgresql_where=_ISSUES, sqlite_where=_ISSUES)
    for table, index in _DROPPED:
        op.create_index(index, table, ['merchant_id'], unique=False)
