"""People named only by e-mail are told at every step, reminders included, when the bot can send e-mail;
otherwise the raiser is asked to reach them and no reminder is written for them."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from flows import escalations as lifecycle
from flows.escalations import ActionForm
from flows.people import PersonRef
from flows.reminders import remind_agreed_actions, send_due_reminders
from storage.models import OutboxMessage, Person
from tests.conftest import TEACHER
from tests.flows.steps import open_case, outcome

GP = PersonRef.by_email("Dr Gita Rao", "gita.rao@nhs.net")
UTC = UTC


def told(ctx) -> list[tuple[str, str]]:
    """(topic, recipient's user id) of each person message, in order."""
    with ctx.db.transaction() as session:
        rows = session.exec(
            select(OutboxMessage, Person.platform_user_id)
            .join(Person, Person.id == OutboxMessage.recipient_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [(m.topic, user) for m, user in rows]


@pytest.mark.parametrize("email_enabled", [True, False])
def test_a_gp_named_by_email_is_told_and_reminded_only_when_email_is_on(ctx, clock, email_enabled):
    ctx = replace(ctx, email_enabled=email_enabled)
    case = open_case(ctx, professionals=[GP])
    clock.set(datetime(2026, 4, 10, 8, 45, tzinfo=UTC))  # 09:45 on Friday 10 April: two working days before
    assert send_due_reminders(ctx) == 1
    case = lifecycle.resolve(
        ctx,
        case.reference,
        TEACHER,
        version=case.version,
        outcome=outcome(
            outcome_date=date(2026, 4, 10),
            nothing_outstanding=False,
            actions=[ActionForm("Share the surgery's notes", GP, date(2026, 4, 14))],
        ),
    )
    clock.set(datetime(2026, 4, 14, 8, 45, tzinfo=UTC))
    assert remind_agreed_actions(ctx) == (1 if email_enabled else 0)
    to_gp = [topic for topic, user in told(ctx) if user == GP.user_id]
    by_hand = [topic for topic, user in told(ctx) if topic == "contact_by_hand"]
    if email_enabled:
        assert to_gp == ["invited_to_talk", "reminder", "escalation_resolved", "action_due"]
        assert by_hand == []
    else:
        assert to_gp == []
        # The raiser is asked to pass on the invitation and the outcome; nobody can remind the GP.
        assert by_hand == ["contact_by_hand", "contact_by_hand"]
        assert all(user == TEACHER.user_id for topic, user in told(ctx) if topic == "contact_by_hand")
