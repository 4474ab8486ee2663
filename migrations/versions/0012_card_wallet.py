"""WeChat card wallet (微信卡包): the product's opt-in, its WeChat member card, and each card's link to its
code in WeChat (also the outbox of balance pushes).

Revision ID: 0012_card_wallet
Revises: 0011_review_materials
"""
from alembic import op
import sqlalchemy as sa

import server.db
from sqlalchemy import Text  # noqa: F401  (rendered in postgresql.JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012_card_wallet'
down_revision = '0011_review_materials'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_member_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wx_card_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=40), nullable=True),
    sa.Column('locked_until', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'created', 'failed')", name=op.f('ck_wechat_member_cards_status_valid')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_wechat_member_cards_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['product_id'], ['card_products.id'], name=op.f('fk_wechat_member_cards_product_id_card_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_member_cards')),
    sa.UniqueConstraint('product_id', name=op.f('uq_wechat_member_cards_product_id')),
    sa.UniqueConstraint('wx_card_id', name=op.f('uq_wechat_member_cards_wx_card_id'))
    )
    with op.batch_alter_table('wechat_member_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_member_cards_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_member_cards_status_wechat_member_cards_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('wechat_card_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('consumer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wx_card_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.Column('synced_seq', sa.Integer(), nullable=False),
    sa.Column('synced_balance_fen', sa.Integer(), nullable=True),
    sa.Column('synced_bonus_fen', sa.Integer(), nullable=True),
    sa.Column('synced_points', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=40), nullable=True),
    sa.Column('locked_until', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('activated_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('issued', 'added', 'activated', 'revoked')", name=op.f('ck_wechat_card_links_status_valid')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_wechat_card_links_card_id_cards')),
    sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name=op.f('fk_wechat_card_links_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_wechat_card_links_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_card_links')),
    sa.UniqueConstraint('card_id', name=op.f('uq_wechat_card_links_card_id')),
    sa.UniqueConstraint('wx_card_id', 'code', name=op.f('uq_wechat_card_links_wx_card_id_code'))
    )
    with op.batch_alter_table('wechat_card_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_card_links_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_card_links_next_attempt_at'), ['next_attempt_at'], unique=False)

    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_card', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False,
                                      server_default=sa.text("'{}'")))



def downgrade():
    with op.batch_alter_table('card_products', schema=None) as batch_op:
        batch_op.drop_column('wechat_card')

    with op.batch_alter_table('wechat_card_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_card_links_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_wechat_card_links_merchant_id'))

    op.drop_table('wechat_card_links')
    with op.batch_alter_table('wechat_member_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_member_cards_status_wechat_member_cards_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_wechat_member_cards_merchant_id'))

    op.drop_table('wechat_member_cards')
