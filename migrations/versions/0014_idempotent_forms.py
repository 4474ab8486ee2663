"""Idempotent console forms: a replayed answer keeps its redirect's Location and the messages it flashed.

Revision ID: 0014_idempotent_forms
Revises: 0013_test_mode
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0014_idempotent_forms'
down_revision = '0013_test_mode'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('flashes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('flashes')
        batch_op.drop_column('location')
