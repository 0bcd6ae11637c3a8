"""Who is told what when a case closes: everyone the outcome once; each side's last holder in chat the record for
their agency's file in the same message; the partnership, from the stage the policy says, the form with its
notice. And no one holds a stage for both sides, under any of their accounts."""

import pytest
from sqlmodel import func, select

from flows import escalations as lifecycle
from flows import permissions as can
from flows import topics
from flows.errors import Refused
from flows.people import PersonRef
from storage.models import Escalation, OutboxMessage, Person
from tests.conftest import MASH_WORKER, TEACHER, TEACHER_MANAGER
from tests.flows.steps import open_case


def told(ctx, topic: str) -> list[tuple[str, str, dict | None]]:
    """(to whom, the audience, what goes with it) of each outbox row on this topic, in order."""
    with ctx.db.transaction() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id))
        return [
            (session.get(Person, r.recipient_id).email if r.recipient_id else "", r.audience, r.payload.get("document"))
            for r in rows.all()
        ]


def test_each_side_has_its_record_with_the_news_and_no_separate_document(ctx):
    case = open_case(ctx)
    lifecycle.withdraw(ctx, case.reference, TEACHER, version=case.version, reason="MASH accepted it.")
    record = {"kind": can.RECORD_FOR_FILE, "occasion": "closure"}
    assert told(ctx, topics.ESCALATION_WITHDRAWN) == [
        (TEACHER.email, topics.PERSON, {**record, "side": "raising"}),
        (MASH_WORKER.email, topics.PERSON, {**record, "side": "receiving"}),
    ]
    assert told(ctx, topics.DOCUMENT) == []


def test_earlier_holders_are_told_without_a_record(ctx):
    case = open_case(ctx)
    case = lifecycle.escalate(
        ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
    )
    lifecycle.withdraw(ctx, case.reference, TEACHER_MANAGER, version=case.version, reason="Sorted.")
    assert [(who, document and document["side"]) for who, _, document in told(ctx, topics.ESCALATION_WITHDRAWN)] == [
        (TEACHER.email, None),  # raised it and held Stage 1: her side's holder now files it
        (TEACHER_MANAGER.email, "raising"),
        (MASH_WORKER.email, "receiving"),  # still acting for MASH, who never named a Stage 2 holder
    ]


@pytest.mark.parametrize(
    "myself, field",
    [
        (PersonRef.by_email("Tess T", TEACHER.email.upper()), "professionals_by_email"),
        (PersonRef("teams", "aad-tess", "Tess", TEACHER.email), "professionals"),
    ],
    ids=["by e-mail", "in Teams"],
)
def test_the_raiser_cannot_name_themselves_under_another_account_and_nothing_is_written(ctx, myself, field):
    with pytest.raises(Refused) as refused:
        open_case(ctx, professionals=[MASH_WORKER, myself])
    assert refused.value.field == field and "cannot be yourself" in refused.value.message
    with ctx.db.transaction() as session:
        assert session.exec(select(func.count()).select_from(Escalation)).one() == 0
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0


def test_a_side_cannot_name_the_other_sides_holder_under_another_account(ctx):
    case = open_case(ctx)
    case = lifecycle.escalate(
        ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
    )
    head_in_teams = PersonRef("teams", "aad-hari", TEACHER_MANAGER.name, TEACHER_MANAGER.email)
    with pytest.raises(Refused) as refused:
        lifecycle.name_holder(ctx, case.reference, MASH_WORKER, version=case.version, holders=[head_in_teams])
    assert refused.value.field == "holders" and "on the other side" in refused.value.message
    assert lifecycle.view_case(ctx, case.reference, MASH_WORKER).version == case.version  # nothing changed
