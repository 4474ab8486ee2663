"""Drop states nothing can reach: cards 'transferred', journals 'transfer'.

Revision ID: 0005_unused_states
Revises: 0004_ledger_reporting
"""

from alembic import op

revision = '0005_unused_states'
down_revision = '0004_ledger_reporting'
branch_labels = None
depends_on = None

#: (table, constraint, column, values now, values before)
CHECKS = [
    ('cards', 'ck_cards_status_valid', 'status',
     ('active', 'frozen', 'expired', 'refunded'), ('active', 'frozen', 'expired', 'refunded', 'transferred')),
    ('journals', 'ck_journals_kind_valid', 'kind',
     ('issue', 'top_up', 'redeem', 'reverse', 'refund', 'expire', 'adjust'),
     ('issue', 'top_up', 'redeem', 'reverse', 'refund', 'transfer', 'expire', 'adjust')),
]


def _replace(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), f"{column} IN ({', '.join(repr(v) for v in values)})")


def upgrade():
    for table, name, column, now, _before in CHECKS:
        _replace(table, name, column, now)


def downgrade():
    for table, name, column, _now, before in CHECKS:
        _replace(table, name, column, before)
