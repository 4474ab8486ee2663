"""Ledger entries carry bucket, journal kind and store for reports; daily roll-ups of the ledger;
redemptions record the dynamic code used.

Revision ID: 0004_ledger_reporting
Revises: 0003_payments
"""
from alembic import op
import sqlalchemy as sa

import server.db

revision = '0004_ledger_reporting'
down_revision = '0003_payments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bucket', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('store_id', server.db.BigId, nullable=True))
    # Backfill from the account name's last segment and the journal.
    op.execute("""
        UPDATE ledger_entries SET
            bucket = substr(account, length(rtrim(account, 'abcdefghijklmnopqrstuvwxyz_')) + 1),
            kind = (SELECT kind FROM journals WHERE journals.id = ledger_entries.journal_id),
            store_id = (SELECT store_id FROM journals WHERE journals.id = ledger_entries.journal_id)
    """)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.alter_column('bucket', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('kind', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_index('ix_ledger_entries_report',
                              ['merchant_id', 'created_at', 'bucket'], unique=False)

    op.create_table('ledger_days',
        sa.Column('id', server.db.BigId, nullable=False),
        sa.Column('merchant_id', server.db.BigId, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name='fk_ledger_days_merchant_id_merchants'),
        sa.PrimaryKeyConstraint('id', name='pk_ledger_days'),
        sa.UniqueConstraint('merchant_id', 'day', name='uq_ledger_days_merchant_id_day'),
    )
    op.create_index('ix_ledger_days_merchant_id', 'ledger_days', ['merchant_id'], unique=False)
    op.create_table('ledger_day_totals',
        sa.Column('id', server.db.BigId, nullable=False),
        sa.Column('merchant_id', server.db.BigId, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('bucket', sa.String(length=20), nullable=False),
        sa.Column('store_id', server.db.BigId, nullable=True),
        sa.Column('channel_id', server.db.BigId, nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name='fk_ledger_day_totals_merchant_id_merchants'),
        sa.PrimaryKeyConstraint('id', name='pk_ledger_day_totals'),
    )
    op.create_index('ix_ledger_day_totals_merchant_id', 'ledger_day_totals', ['merchant_id'], unique=False)
    op.create_index('ix_ledger_day_totals_lookup', 'ledger_day_totals', ['merchant_id', 'day'], unique=False)

    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_redemptions_code_digest', ['code_digest'])
        batch_op.alter_column('journal_id', existing_type=server.db.BigId, nullable=True)


def downgrade():
    op.drop_table('ledger_day_totals')
    op.drop_table('ledger_days')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.alter_column('journal_id', existing_type=server.db.BigId, nullable=False)
        batch_op.drop_constraint('uq_redemptions_code_digest', type_='unique')
        batch_op.drop_column('code_digest')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_report')
        batch_op.drop_column('store_id')
        batch_op.drop_column('kind')
        batch_op.drop_column('bucket')
