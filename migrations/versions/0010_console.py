"""Console round: report roll-ups drop their old rows (card-sale income now reads the clearing accounts;
the reports rebuild them from the ledger, of which they are only a cache); points exchange (积分兑换):
the rewards catalogue, its exchanges, and journals of kind 'exchange'.

Revision ID: 0010_console
Revises: 0009_physical_cards
"""

import sqlalchemy as sa
from alembic import op

import server.db

revision = '0010_console'
down_revision = '0009_physical_cards'
branch_labels = None
depends_on = None

KINDS_BEFORE = ('issue', 'top_up', 'redeem', 'reverse', 'refund', 'expire', 'adjust', 'replace')
KINDS_NOW = (*KINDS_BEFORE, 'exchange')


def _journal_kinds(values):
    with op.batch_alter_table('journals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_journals_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_journals_kind_valid'),
                                         f"kind IN ({', '.join(repr(v) for v in values)})")


def upgrade():
    op.execute("DELETE FROM ledger_day_totals")
    op.execute("DELETE FROM ledger_days")
    _journal_kinds(KINDS_NOW)
    op.create_table('rewards',
        sa.Column('id', server.db.BigId, nullable=False),
        sa.Column('merchant_id', server.db.BigId, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('points_price', sa.Integer(), nullable=False),
        sa.Column('stock', sa.Integer(), nullable=False),
        sa.Column('value_fen', sa.Integer(), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('goods', 'stored_value', 'uses')", name=op.f('ck_rewards_kind_valid')),
        sa.CheckConstraint('points_price > 0', name=op.f('ck_rewards_points_price_positive')),
        sa.CheckConstraint('stock >= 0', name=op.f('ck_rewards_stock_non_negative')),
        sa.CheckConstraint('value_fen >= 0', name=op.f('ck_rewards_value_fen_non_negative')),
        sa.CheckConstraint('uses >= 0', name=op.f('ck_rewards_uses_non_negative')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_rewards_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards')),
    )
    op.create_index(op.f('ix_rewards_merchant_id'), 'rewards', ['merchant_id'], unique=False)
    op.create_table('reward_exchanges',
        sa.Column('id', server.db.BigId, nullable=False),
        sa.Column('merchant_id', server.db.BigId, nullable=False),
        sa.Column('reward_id', server.db.BigId, nullable=False),
        sa.Column('card_id', server.db.BigId, nullable=False),
        sa.Column('journal_id', server.db.BigId, nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('actor_type', sa.String(length=20), nullable=False),
        sa.Column('actor_id', server.db.BigId, nullable=True),
        sa.Column('store_id', server.db.BigId, nullable=True),
        sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_reward_exchanges_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_reward_exchanges_reward_id_rewards')),
        sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_reward_exchanges_card_id_cards')),
        sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_reward_exchanges_journal_id_journals')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_reward_exchanges_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_exchanges')),
    )
    op.create_index(op.f('ix_reward_exchanges_merchant_id'), 'reward_exchanges', ['merchant_id'], unique=False)
    op.create_index(op.f('ix_reward_exchanges_reward_id'), 'reward_exchanges', ['reward_id'], unique=False)
    op.create_index(op.f('ix_reward_exchanges_card_id'), 'reward_exchanges', ['card_id'], unique=False)


def downgrade():
    op.drop_table('reward_exchanges')
    op.drop_table('rewards')
    _journal_kinds(KINDS_BEFORE)
