"""each case's policy named by its digest; the due-work pass's own ledger and index

The due-work pass and the digest need the policy each open case was opened under. Reading every case's snapshot
(several KB each) to find the two or three distinct policies costs more than the rest of the pass; the digest
(SHA-256 of the snapshot) names the policy in 64 characters, and an index on the open cases' status, digest and
stage answers "which policies, which cases" without touching the snapshots.

due_work_done records that one reminder of one policy (a kind, for a day) has been written for every stage it
was due to: once it has, no stage can become due to it (a stage started after its time is not reminded by it),
so later passes that day skip it instead of asking the ledger about every case again. The partial index on the
stages not yet ended holds just the current stages, in deadline order, for the pass's query.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("policy_digest", sa.String(64), nullable=False, server_default=""))
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE escalation SET policy_digest = encode(sha256(convert_to(policy_snapshot, 'UTF8')), 'hex')")
        op.create_index(
            "ix_escalation_due_work",
            "escalation",
            ["status", "policy_digest", "current_stage"],
            postgresql_include=["id"],
        )
    else:
        bind.connection.driver_connection.create_function("sha256_hex", 1, _sha256_hex, deterministic=True)
        op.execute("UPDATE escalation SET policy_digest = sha256_hex(policy_snapshot)")
        op.create_index("ix_escalation_due_work", "escalation", ["status", "policy_digest", "current_stage"])

    op.create_table(
        "due_work_done",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("policy_digest", "kind", "due_on"),
    )
    op.create_index(
        "ix_stage_current",
        "stage",
        ["due_at", "escalation_id", "number", "started_at"],
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_stage_current", "stage")
    op.drop_table("due_work_done")
    op.drop_index("ix_escalation_due_work", "escalation")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_column("policy_digest")
