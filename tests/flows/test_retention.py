"""The retention rule: a closed case's details about the child are erased N months after closure, in every
table, the audit trail included, through its one allowed erasure; what is left still counts."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from flows import escalations as lifecycle
from flows.digest import build_digest
from flows.retention import apply_retention, due_for_erasure, months_after
from storage.models import AuditEvent, Escalation
from tests.conftest import SERVICE_MANAGER, TEACHER
from tests.flows.steps import open_case, outcome, to_stage

UTC = UTC
SECRET_WORDS = (
    "J.S.",
    "MOS-123456",
    "disclosures",
    "no further action",
    "Joint visit agreed",
    "Talk before deciding",
    "Assessment delayed",
    "Spoke to the GP",
)


def everything(ctx) -> str:
    with ctx.db.engine.connect() as connection:
        return repr(
            [connection.exec_driver_sql(f"SELECT * FROM {t}").all() for t in inspect(ctx.db.engine).get_table_names()]
        )


def closed_case(ctx):
    case = to_stage(ctx, open_case(ctx), 3)
    lifecycle.add_note(ctx, case.reference, TEACHER, "Spoke to the GP.")
    return lifecycle.resolve(ctx, case.reference, SERVICE_MANAGER, version=case.version, outcome=outcome(3))


def test_months_after_keeps_the_day_or_the_months_last():
    assert months_after(date(2026, 4, 1), 24) == date(2028, 4, 1)
    assert months_after(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert months_after(date(2027, 8, 31), 6) == date(2028, 2, 29)


def test_a_closed_case_is_erased_after_24_months_and_still_counts(ctx, clock):
    case = closed_case(ctx)  # closed Wednesday 1 April 2026
    open_case(ctx)  # an open case is never erased
    clock.set(datetime(2028, 3, 31, 10, 0, tzinfo=UTC))
    assert due_for_erasure(ctx) == []
    clock.set(datetime(2028, 4, 1, 10, 0, tzinfo=UTC))
    assert [d.reference for d in due_for_erasure(ctx)] == [case.reference]
    for words in SECRET_WORDS:
        assert words in everything(ctx)
    assert apply_retention(ctx) == [case.reference]
    assert apply_retention(ctx) == []  # once
    text = everything(ctx)
    with ctx.db.transaction() as session:
        rows = session.exec(select(Escalation).order_by(Escalation.id)).all()
        assert rows[0].child_initials == "" and rows[0].erased_at is not None
        assert rows[1].child_initials == "J.S."  # the open case keeps its details
        audit = session.exec(select(AuditEvent).where(AuditEvent.escalation_id == rows[0].id)).all()
    # What only the closed case said is gone from every table; the open case's form is still there, once.
    for words in ("Joint visit agreed", "Talk before deciding", "Assessment delayed", "Spoke to the GP"):
        assert words not in text, words
    assert text.count("disclosures to the class teacher") == 1
    # Audited by reference and field, never by content; the case's earlier audit details are erased too.
    erasure = audit[-1]
    assert erasure.action == "erased" and erasure.detail["reference"] == case.reference
    assert "escalation.child_initials" in erasure.detail["fields"] and "case_note.text" in erasure.detail["fields"]
    assert all(a.detail == {"erased": True} for a in audit[:-1])
    assert [a.action for a in audit[:2]] == ["opened", "escalate"]  # who did what, and when, remain
    # What is left still counts.
    digest = build_digest(ctx, covers_from=datetime(2026, 3, 30, tzinfo=UTC), now=clock.now())
    assert ("Levels of safeguarding or protection need", 1) in digest.by_theme


def test_the_audit_trail_allows_only_that_erasure(ctx):
    closed_case(ctx)
    # Erasing the detail together with anything else, or writing any other detail, is refused.
    # (Plain updates and deletes: tests/flows/test_escalations.py::test_the_audit_trail_cannot_be_changed.)
    for sql in (
        "UPDATE audit_event SET detail = '{\"erased\": true}', action = 'x'",
        'UPDATE audit_event SET detail = \'{"something": "else"}\'',
    ):
        with ctx.db.engine.connect() as connection:
            with pytest.raises(Exception, match="never changed or deleted"):
                connection.exec_driver_sql(sql)
