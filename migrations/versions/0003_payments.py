"""payments: undeliverable purchases are refunded without a card; notify log values checked

A purchase paid after its batch sold out issues no card and is refunded whole, so a refund's
card is optional. The notify log's kind and outcome get the CHECK constraints every other
enumerated column has.

Revision ID: 0003_payments
Revises: 0002_issuance
Create Date: 2026-11-23 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_payments'
down_revision = '0002_issuance'
branch_labels = None
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    # Batch mode: SQLite cannot alter a column or add a constraint in place, so the table is copied.
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.alter_column('card_id', existing_type=ID_TYPE, nullable=True)
    with op.batch_alter_table('payment_notify_log', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_payment_notify_log_kind_valid'), "kind IN ('pay', 'refund')")
        batch_op.create_check_constraint(
            op.f('ck_payment_notify_log_outcome_valid'),
            "outcome IN ('settled', 'duplicate', 'rejected', 'error')",
        )


def downgrade():
    with op.batch_alter_table('payment_notify_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_notify_log_outcome_valid'), type_='check')
        batch_op.drop_constraint(op.f('ck_payment_notify_log_kind_valid'), type_='check')
    # Fails while refunds of undeliverable purchases exist: they have no card to point at.
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.alter_column('card_id', existing_type=ID_TYPE, nullable=False)
