"""Open platform: merchants' API keys (hashed), members of their own systems, cards issued to them
with a bind code (hashed), and the external order numbers of open top-ups and redemptions (unique per
merchant).

Revision ID: 0006_open_platform
Revises: 0005_unused_states
"""
from alembic import op
import sqlalchemy as sa

import server.db
from sqlalchemy import Text  # noqa: F401  (rendered in postgresql.JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0006_open_platform'
down_revision = '0005_unused_states'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('open_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('mobile_encrypted', sa.String(length=200), nullable=True),
    sa.Column('mobile_masked', sa.String(length=20), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_open_members_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_members')),
    sa.UniqueConstraint('merchant_id', 'external_id', name=op.f('uq_open_members_merchant_id_external_id'))
    )
    with op.batch_alter_table('open_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_members_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('key_prefix', sa.String(length=20), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_used_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('live', 'test')", name=op.f('ck_api_keys_mode_valid')),
    sa.CheckConstraint('revoked_at IS NULL OR revoked_at >= created_at', name=op.f('ck_api_keys_revoked_after_created')),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_api_keys_created_by_staff')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_api_keys_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['revoked_by'], ['staff.id'], name=op.f('fk_api_keys_revoked_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('open_member_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bind_code_hash', sa.String(length=64), nullable=False),
    sa.Column('bound_at', server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bound_consumer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(bound_at IS NULL) = (bound_consumer_id IS NULL)', name=op.f('ck_open_member_cards_bound_together')),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_open_member_cards_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_open_member_cards_batch_id_batches')),
    sa.ForeignKeyConstraint(['bound_consumer_id'], ['consumers.id'], name=op.f('fk_open_member_cards_bound_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_open_member_cards_card_id_cards')),
    sa.ForeignKeyConstraint(['member_id'], ['open_members.id'], name=op.f('fk_open_member_cards_member_id_open_members')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_open_member_cards_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_member_cards')),
    sa.UniqueConstraint('bind_code_hash', name=op.f('uq_open_member_cards_bind_code_hash')),
    sa.UniqueConstraint('card_id', name=op.f('uq_open_member_cards_card_id'))
    )
    with op.batch_alter_table('open_member_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_member_cards_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_member_cards_member_id_open_member_cards_batch_id'), ['member_id', 'batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_member_cards_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('open_top_ups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_order_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('bonus_fen', sa.Integer(), nullable=False),
    sa.Column('journal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_open_top_ups_amount_positive')),
    sa.CheckConstraint('bonus_fen >= 0', name=op.f('ck_open_top_ups_bonus_fen_non_negative')),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_open_top_ups_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_open_top_ups_card_id_cards')),
    sa.ForeignKeyConstraint(['journal_id'], ['journals.id'], name=op.f('fk_open_top_ups_journal_id_journals')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_open_top_ups_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_top_ups')),
    sa.UniqueConstraint('journal_id', name=op.f('uq_open_top_ups_journal_id')),
    sa.UniqueConstraint('merchant_id', 'external_order_no', name=op.f('uq_open_top_ups_merchant_id_external_order_no'))
    )
    with op.batch_alter_table('open_top_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_top_ups_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_top_ups_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('open_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_order_no', sa.String(length=64), nullable=True),
    sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_open_redemptions_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_open_redemptions_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_open_redemptions_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_redemptions')),
    sa.UniqueConstraint('merchant_id', 'external_order_no', name=op.f('uq_open_redemptions_merchant_id_external_order_no')),
    sa.UniqueConstraint('redemption_id', name=op.f('uq_open_redemptions_redemption_id'))
    )
    with op.batch_alter_table('open_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_redemptions_merchant_id'), ['merchant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('open_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_redemptions_merchant_id'))

    op.drop_table('open_redemptions')
    with op.batch_alter_table('open_top_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_top_ups_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_open_top_ups_card_id'))

    op.drop_table('open_top_ups')
    with op.batch_alter_table('open_member_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_member_cards_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_open_member_cards_member_id_open_member_cards_batch_id'))
        batch_op.drop_index(batch_op.f('ix_open_member_cards_api_key_id'))

    op.drop_table('open_member_cards')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_merchant_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('open_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_members_merchant_id'))

    op.drop_table('open_members')
