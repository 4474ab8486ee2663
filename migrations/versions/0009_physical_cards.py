"""Physical cards (实体卡): product form and face artwork, inactive and replaced cards, physical batches.

Revision ID: 0009_physical_cards
Revises: 0008_wechat_pay_v3
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009_physical_cards'
down_revision = '0008_wechat_pay_v3'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

#: (table, constraint, column, values now, values before)
CHECKS = [
    ('cards', 'ck_cards_status_valid', 'status',
     ('inactive', 'active', 'frozen', 'expired', 'refunded', 'replaced'),
     ('active', 'frozen', 'expired', 'refunded')),
    ('journals', 'ck_journals_kind_valid', 'kind',
     ('issue', 'top_up', 'redeem', 'reverse', 'refund', 'expire', 'adjust', 'replace'),
     ('issue', 'top_up', 'redeem', 'reverse', 'refund', 'expire', 'adjust')),
    ('batches', 'ck_batches_issue_method_valid', 'issue_method',
     ('claim', 'purchase', 'code', 'physical'), ('claim', 'purchase', 'code')),
]


def _replace(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), f"{column} IN ({', '.join(repr(v) for v in values)})")


def upgrade():
    for table, name, column, now, _before in CHECKS:
        _replace(table, name, column, now)
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.String(length=10), nullable=False, server_default='virtual'))
        batch_op.add_column(sa.Column('face_image', _JSON, nullable=True))
        batch_op.create_check_constraint(op.f('ck_card_products_form_valid'), "form IN ('virtual', 'physical')")
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces_card_id', _ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cards_replaces_card_id_cards'), 'cards',
                                    ['replaces_card_id'], ['id'])


def downgrade():
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cards_replaces_card_id_cards'), type_='foreignkey')
        batch_op.drop_column('replaces_card_id')
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_card_products_form_valid'), type_='check')
        batch_op.drop_column('face_image')
        batch_op.drop_column('form')
    for table, name, column, _now, before in CHECKS:
        _replace(table, name, column, before)
