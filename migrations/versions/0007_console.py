"""Report roll-ups now carry the clearing accounts (card-sale income): drop the old ones, which the
reports rebuild on demand from the ledger (they are a cache of it, never the books).

Revision ID: 0007_console
Revises: 0005_unused_states
"""

from alembic import op

revision = '0007_console'
down_revision = '0005_unused_states'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM ledger_day_totals")
    op.execute("DELETE FROM ledger_days")


def downgrade():
    pass  # the roll-ups are rebuilt from the ledger either way
