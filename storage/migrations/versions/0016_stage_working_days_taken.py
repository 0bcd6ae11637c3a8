"""each stage's working days taken, kept when it ends; an index on when stages ended

The themes report summed working days by looking up two dates in a calendar table for every ended stage
(280,000 at 100,000 cases); a stage now keeps its count when it ends, read from an index with what the
report's query needs. Stages ended before this are still counted by the report as before.

The report lists the latest key learning under each theme: walking the stages along the ended_at index,
newest first, each theme's list stops at its limit instead of sorting every stage of the period.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stage") as batch:
        batch.add_column(sa.Column("working_days_taken", sa.Integer(), nullable=True))
    op.create_index("ix_stage_ended_at", "stage", ["ended_at", "id"])
    op.create_index(
        "ix_stage_working_days",
        "stage",
        ["escalation_id", "number", "working_days_taken", "ended_at", "due_at", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_stage_working_days", "stage")
    op.drop_index("ix_stage_ended_at", "stage")
    with op.batch_alter_table("stage") as batch:
        batch.drop_column("working_days_taken")
