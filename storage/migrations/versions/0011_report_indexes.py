"""indexes the themes report reads instead of the tables

Every case row carries its policy snapshot (several KB), so a report that scanned the table would read all of
them. These covering indexes hold just what the report's GROUP BY queries read, so at 100,000 cases it reads
a few MB.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ESCALATION_COLUMNS = [
    "opened_at",
    "status",
    "current_stage",
    "raiser_agency",
    "other_agency",
    "level_of_need",
    "age_band",
    "gender",
    "ethnicity",
    "send",
    "themes",
    "reference",
]
STAGE_COLUMNS = [
    "escalation_id",
    "number",
    "started_at",
    "ended_at",
    "due_at",
    "outcome_kind",
    "reflective_consultation_requested_at",
    "consultation_arranged_for",
    "consultation_held_on",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A JSON column cannot be a btree key on PostgreSQL: the themes are carried in the index instead.
        keys = [c for c in ESCALATION_COLUMNS if c != "themes"]
        op.create_index("ix_escalation_report", "escalation", keys, postgresql_include=["themes"])
    else:
        op.create_index("ix_escalation_report", "escalation", ESCALATION_COLUMNS)
    op.create_index("ix_stage_report", "stage", STAGE_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_stage_report", "stage")
    op.drop_index("ix_escalation_report", "escalation")
