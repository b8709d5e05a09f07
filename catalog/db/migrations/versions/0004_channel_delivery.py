"""channel delivery: unreachable chats, delivered message ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

A chat that blocked the bot is marked unreachable (alerts to it stop); a message the
channel accepted keeps the channel's own id for it (the delivery record).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_outbox_messages_channel_status', ['channel', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_channel_status')
        batch_op.drop_column('external_id')
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.drop_column('unreachable_at')
