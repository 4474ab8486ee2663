"""Qualification documents for review: the company seal scan and the fund guarantee join the kinds.

Revision ID: 0011_review_materials
Revises: 0010_console
"""

from alembic import op

revision = '0011_review_materials'
down_revision = '0010_console'
branch_labels = None
depends_on = None

#: (table, constraint, column, values now, values before)
CHECKS = [
    ('merchant_documents', 'ck_merchant_documents_kind_valid', 'kind',
     ('business_license', 'legal_person_id', 'company_seal', 'fund_guarantee'),
     ('business_license', 'legal_person_id')),
]


def _replace(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), f"{column} IN ({', '.join(repr(v) for v in values)})")


def upgrade():
    for table, name, column, now, _before in CHECKS:
        _replace(table, name, column, now)


def downgrade():
    op.execute("DELETE FROM merchant_documents WHERE kind IN ('company_seal', 'fund_guarantee')")
    for table, name, column, _now, before in CHECKS:
        _replace(table, name, column, before)
