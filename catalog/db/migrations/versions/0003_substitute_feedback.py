"""substitute feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

One row per substitute a shopper accepted or turned down, so merchants can see which
suggestions work.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('substitute_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('substitute_sku', sa.String(length=64), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_substitute_feedback'))
    )
    with op.batch_alter_table('substitute_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_substitute_feedback_sku_substitute', ['sku', 'substitute_sku'], unique=False)
        batch_op.create_index(batch_op.f('ix_substitute_feedback_substitute_sku'), ['substitute_sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('substitute_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_substitute_feedback_substitute_sku'))
        batch_op.drop_index('ix_substitute_feedback_sku_substitute')
    op.drop_table('substitute_feedback')
