"""The personal chat with the bot: installing the app keeps where the person is messaged; "list" lists their
cases; a person is one person whether they use Slack or Teams (linked by work e-mail)."""

from sqlmodel import select

from flows import escalations as lifecycle
from flows.people import PersonRef
from flows.persons import ChatAddress, chat_address
from storage.models import Account, Person
from tests.conftest import MASH_WORKER, TEACHER, a_form
from tests.teams.conftest import PEOPLE, TENANT_ID


def teams_ref(key: str) -> PersonRef:
    user = PEOPLE[key]
    return PersonRef("teams", user.aad_object_id, user.name, user.email)


async def test_installing_the_app_keeps_the_conversation_reference_and_says_welcome(running):
    teacher = PEOPLE["teacher"]
    replies = await running.teams.install(teacher)
    assert [r.status for r in replies] == [200, 200]
    conversation = running.standin.personal_conversation(teacher)
    assert chat_address(running.ctx, "teams", teacher.aad_object_id) == ChatAddress(
        conversation_id=conversation.id,
        service_url=running.standin.service_url,
        tenant_id=TENANT_ID,
        chat_user_id=teacher.chat_id,
    )
    with running.ctx.db.transaction() as session:
        (person,) = session.exec(select(Person)).all()
        # Teams sends no e-mail address with an activity: it was read from the member record, once.
        assert (person.name, person.email) == ("Tess Teacher", "tess@school.example")
    assert len([c for c in running.standin.calls if "/members/" in c.path]) == 1
    (welcome,) = running.standin.sent_to_user(teacher)
    assert "Raise an escalation" in str(welcome.cards)


async def test_list_shows_the_persons_cases_as_a_card(running):
    teacher = PEOPLE["teacher"]
    await running.teams.install(teacher)
    case = lifecycle.open_escalation(
        running.ctx, teams_ref("teacher"), a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )
    reply = await running.teams.say(teacher, "list")
    assert reply.status == 200
    card = running.standin.sent_to_user(teacher)[-1].cards[0]
    assert case.reference in str(card) and "Your open escalations" in str(card)
    assert "J.S." not in str(card), "a list names cases by reference, not by the child's initials"


async def test_someone_on_slack_and_on_teams_is_one_person(running):
    """Tess raised a case from Slack; in Teams, "list" shows it: her Teams account joins her by work e-mail."""
    case = lifecycle.open_escalation(
        running.ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )
    teacher = PEOPLE["teacher"]
    await running.teams.install(teacher)
    await running.teams.say(teacher, "list")
    assert case.reference in str(running.standin.sent_to_user(teacher)[-1].cards)
    with running.ctx.db.transaction() as session:
        accounts = {(a.platform, a.platform_user_id) for a in session.exec(select(Account)).all()}
        people = session.exec(select(Person)).all()
    assert {("slack", TEACHER.user_id), ("teams", teacher.aad_object_id)} <= accounts
    assert len([p for p in people if p.email == "tess@school.example"]) == 1
    # Someone else's case is not listed to her.
    other = lifecycle.open_escalation(
        running.ctx, MASH_WORKER, a_form(professionals=[]), child_at_immediate_risk=False, discussed_with_manager=True
    )
    await running.teams.say(teacher, "list")
    assert other.reference not in str(running.standin.sent_to_user(teacher)[-1].cards)


async def test_a_message_in_a_channel_is_not_answered_in_the_personal_way(running):
    teacher = PEOPLE["teacher"]
    running.standin.install_for(teacher)
    activity = running.standin.message(teacher, "list")
    activity["conversation"] = {
        "conversationType": "channel",
        "tenantId": TENANT_ID,
        "id": "19:cscp-escalations@thread.tacv2",
    }
    reply = await running.teams.post(activity)
    assert reply.status == 200
    assert running.standin.activities == []
