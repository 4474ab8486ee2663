"""WeChat Pay partner mode: a merchant's sub-merchant id, and the one each order was placed for.

Revision ID: 0008_wechat_pay_v3
Revises: 0007_webhooks_jobs
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_wechat_pay_v3'
down_revision = '0007_webhooks_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_sub_mchid', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_merchants_wechat_sub_mchid'), ['wechat_sub_mchid'])
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sub_mchid', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.drop_column('sub_mchid')
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_merchants_wechat_sub_mchid'), type_='unique')
        batch_op.drop_column('wechat_sub_mchid')
