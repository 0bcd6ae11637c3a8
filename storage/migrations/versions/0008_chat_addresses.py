"""where each account is messaged unprompted (Teams' personal chat with the bot)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (("chat_user_id", 255), ("conversation_id", 255), ("service_url", 500), ("tenant_id", 64))


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        for name, length in COLUMNS:
            batch.add_column(
                sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False, server_default="")
            )


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
