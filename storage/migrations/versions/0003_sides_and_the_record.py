"""sides, proposals, agreed actions and each stage's record

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stage_holder") as batch:
        batch.add_column(
            sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="raising")
        )
        batch.add_column(sa.Column("handed_over_at", storage.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table("stage") as batch:
        batch.add_column(sa.Column("consultation_arranged_for", sa.Date(), nullable=True))
        batch.add_column(sa.Column("consultation_held_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("consultation_actions", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("concerns", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("ended_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("agreed_with_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch.create_foreign_key("fk_stage_ended_by", "person", ["ended_by_id"], ["id"])
    op.create_table(
        "resolution_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("stage_number", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("decline_reason", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_resolution_proposal_escalation_id"), "resolution_proposal", ["escalation_id"])
    op.create_table(
        "agreed_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("stage_number", sa.Integer(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_agreed_action_escalation_id"), "agreed_action", ["escalation_id"])
    op.create_index(op.f("ix_agreed_action_due_on"), "agreed_action", ["due_on"])
    # Stage 1 holders other than the raiser are the professionals of the agency challenged.
    op.execute(
        "UPDATE stage_holder SET side = 'receiving' WHERE person_id IN "
        "(SELECT ep.person_id FROM escalation_professional ep JOIN stage s ON s.escalation_id = ep.escalation_id "
        " WHERE s.id = stage_holder.stage_id AND s.number = 1)"
    )


def downgrade() -> None:
    op.drop_table("agreed_action")
    op.drop_table("resolution_proposal")
    with op.batch_alter_table("stage") as batch:
        batch.drop_constraint("fk_stage_ended_by", type_="foreignkey")
        for column in (
            "agreed_with_ids",
            "ended_by_id",
            "concerns",
            "consultation_actions",
            "consultation_held_on",
            "consultation_arranged_for",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("stage_holder") as batch:
        batch.drop_column("handed_over_at")
        batch.drop_column("side")
