"""One person, several accounts: linked by the work e-mail address each platform's directory reports."""

import pytest
from sqlmodel import select

from flows import escalations as lifecycle
from flows import permissions as can
from flows.errors import Refused
from flows.people import PersonRef
from storage.models import Account, OutboxMessage, Person
from tests.conftest import MASH_WORKER, TEACHER, TEACHER_MANAGER
from tests.flows.steps import open_case, outcome


def people(ctx):
    with ctx.db.transaction() as session:
        return session.exec(select(Person).order_by(Person.id)).all()


def test_someone_named_by_e_mail_who_turns_up_on_slack_is_the_same_person(ctx):
    sam_by_email = PersonRef.by_email("Sam Social", MASH_WORKER.email)
    case = open_case(ctx, professionals=[sam_by_email])
    assert [p.platform for p in people(ctx)] == ["slack", "email"]
    # Sam acts from Slack: the directory reports the same work address, so it is Sam, on the receiving side.
    assert can.RECEIVING_HOLDER in lifecycle.roles_on(ctx, case, MASH_WORKER)
    case = lifecycle.propose_resolution(ctx, case.reference, MASH_WORKER, version=case.version, outcome=outcome())
    assert len(people(ctx)) == 2  # still two people: the teacher and Sam
    with ctx.db.transaction() as session:
        assert {(a.platform, a.platform_user_id) for a in session.exec(select(Account)).all()} >= {
            ("email", MASH_WORKER.email),
            ("slack", MASH_WORKER.user_id),
        }
    # From now on Sam is messaged on Slack, and the case shows Sam's Slack account.
    sam = people(ctx)[1]
    assert (sam.platform, sam.platform_user_id) == ("slack", MASH_WORKER.user_id)
    assert lifecycle.view_case(ctx, case.reference, TEACHER).stage.receiving == (
        PersonRef("slack", MASH_WORKER.user_id, "Sam Social", MASH_WORKER.email),
    )
    case = lifecycle.answer_proposal(ctx, case.reference, TEACHER, version=case.version, accept=True)
    with ctx.db.transaction() as session:
        told = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.topic == "escalation_resolved", OutboxMessage.recipient_id == sam.id
            )
        ).all()
    assert len(told) == 1


def test_permissions_follow_the_person_from_another_platform(ctx):
    case = open_case(ctx)
    teacher_on_teams = PersonRef("teams", "29:teacher", "Tess Teacher", TEACHER.email.upper())
    case = lifecycle.escalate(
        ctx,
        case.reference,
        teacher_on_teams,
        version=case.version,
        reason="Not agreed.",
        next_holders=[TEACHER_MANAGER],
    )
    assert case.current_stage == 2 and case.raiser.email == TEACHER.email
    # One person, now messaged where they last acted.
    assert case.raiser.key == teacher_on_teams.key
    assert len([p for p in people(ctx) if p.email.lower() == TEACHER.email]) == 1


def test_an_account_whose_directory_reports_no_e_mail_is_a_person_of_its_own(ctx):
    case = open_case(ctx)
    no_address = PersonRef("teams", "29:unknown", "Tess Teacher", "")
    with pytest.raises(Refused) as refused:
        lifecycle.escalate(
            ctx, case.reference, no_address, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
        )
    assert refused.value.reason == "not_found"  # not linked by name: a stranger to the case


def test_each_front_end_contributes_its_own_partnership_members(ctx):
    ctx.set_partnership_members("teams", ["29:cscp"])
    ctx.set_partnership_members("slack", ["U0CSCP", "U0OTHER"])
    ctx.set_partnership_members("slack", ["U0CSCP"])  # a later refresh replaces only Slack's
    assert ctx.partnership_members == {("teams", "29:cscp"), ("slack", "U0CSCP")}
