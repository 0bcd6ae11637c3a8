"""an index on when cases closed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The digest reads the cases closed since the last one: by this index, not by every closed case.
    op.create_index("ix_escalation_closed_at", "escalation", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_escalation_closed_at", "escalation")
