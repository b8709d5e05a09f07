"""supplier offers: what the merchant pays per unit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

`supplier_offers.price` is what a shopper pays when that supplier ships the item (the
"another supplier can send it for $X" answer); the merchant's own cost was nowhere. A
merchant who asks for higher-margin substitutes first (policy
`prefer_higher_margin_substitutes`) needs it: margin = the variant's price - the usual
supplier's unit cost. Imported from the optional `supplier_cost` column; empty for
existing offers (no margin known, so no preference).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('supplier_offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_cost', sa.Numeric(precision=12, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('supplier_offers', schema=None) as batch_op:
        batch_op.drop_column('unit_cost')
