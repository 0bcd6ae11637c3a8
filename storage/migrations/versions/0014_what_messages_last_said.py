"""what each message and home view last said

A hash of what the bot last drew in each message it keeps updated (a card, the partnership post) and in each
App Home, so that an update that would not change it is not sent.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("chat_message", "home_viewer"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("chat_message", "home_viewer"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("content_hash")
