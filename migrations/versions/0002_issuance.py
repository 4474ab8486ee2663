"""issuance: cards remember who they were issued to

Per-user batch limits count the cards a consumer received from a batch; the owner changes when a
card is transferred, so the recipient at issuance gets a column of its own. Existing cards are
backfilled with their current owner.

Revision ID: 0002_issuance
Revises: 0001
Create Date: 2026-11-23 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_issuance'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite cannot add a foreign key to an existing table, so the table is copied.
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_to_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cards_issued_to_id_consumers'), 'consumers',
                                    ['issued_to_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_cards_issued_to_id'), ['issued_to_id'], unique=False)
    op.execute("UPDATE cards SET issued_to_id = owner_id")


def downgrade():
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_issued_to_id'))
        batch_op.drop_constraint(batch_op.f('fk_cards_issued_to_id_consumers'), type_='foreignkey')
        batch_op.drop_column('issued_to_id')
