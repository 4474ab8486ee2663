"""Test mode: every row of the books says which mode's books it belongs to; test batches; products
remember their last test run.

Existing rows are live. The column has no default once added: a row written without a mode fails
instead of landing in the live books by accident.

Revision ID: 0013_test_mode
Revises: 0012_card_wallet
"""
from alembic import op
import sqlalchemy as sa

import server.db

# revision identifiers, used by Alembic.
revision = '0013_test_mode'
down_revision = '0012_card_wallet'
branch_labels = None
depends_on = None

#: Every table with a mode column (server/modes.py: ModeScoped and LiveSharedWithTest).
MODE_TABLES = (
    'cards', 'transfers', 'payment_orders', 'refunds', 'refund_allocations', 'redemptions', 'journals',
    'ledger_entries', 'ledger_days', 'ledger_day_totals', 'open_member_cards', 'open_top_ups',
    'open_redemptions', 'reward_exchanges', 'batches',
)
#: Uniqueness that now holds per mode: (table, old columns, new columns).
PER_MODE_UNIQUE = (
    ('ledger_days', ('merchant_id', 'day'), ('merchant_id', 'mode', 'day')),
    ('open_top_ups', ('merchant_id', 'external_order_no'), ('merchant_id', 'mode', 'external_order_no')),
    ('open_redemptions', ('merchant_id', 'external_order_no'), ('merchant_id', 'mode', 'external_order_no')),
)


def _unique_name(table, columns):
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade():
    for table in MODE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('mode', sa.String(length=4), nullable=False, server_default='live'))
            batch_op.create_check_constraint(op.f(f'ck_{table}_mode_valid'), "mode IN ('live', 'test')")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('mode', server_default=None)
    for table, old, new in PER_MODE_UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(_unique_name(table, old)), type_='unique')
            batch_op.create_unique_constraint(op.f(_unique_name(table, new)), list(new))
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('test_run_passed_at', server.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_test_run', sa.JSON().with_variant(
            sa.dialects.postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False,
            server_default='{}'))
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.alter_column('last_test_run', server_default=None)


def downgrade():
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.drop_column('last_test_run')
        batch_op.drop_column('test_run_passed_at')
    for table, old, new in PER_MODE_UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(_unique_name(table, new)), type_='unique')
            batch_op.create_unique_constraint(op.f(_unique_name(table, old)), list(old))
    for table in MODE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_mode_valid'), type_='check')
            batch_op.drop_column('mode')
