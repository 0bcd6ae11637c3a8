"""raise once per form; retention

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch.add_column(sa.Column("erased_at", storage.types.UTCDateTime(), nullable=True))
        batch.create_unique_constraint("uq_escalation_submission_key", ["submission_key"])
    if op.get_bind().dialect.name == "sqlite":
        # Append-only, except for the one erasure the retention rule makes: the detail, and nothing else.
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "WHEN NOT (NEW.detail = '{\"erased\": true}' AND NEW.id = OLD.id AND NEW.action = OLD.action "
            "AND NEW.at = OLD.at AND NEW.actor_id IS OLD.actor_id AND NEW.escalation_id IS OLD.escalation_id) "
            "BEGIN SELECT RAISE(ABORT, 'audit events are never changed or deleted'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit events are never changed or deleted'); END"
        )
    with op.batch_alter_table("escalation") as batch:
        batch.drop_constraint("uq_escalation_submission_key", type_="unique")
        batch.drop_column("erased_at")
        batch.drop_column("submission_key")
