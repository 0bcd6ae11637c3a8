"""Notices: plain words for every topic a person is told, and the case's details only to secure mail domains."""

from datetime import date

import pytest

from flows import escalations as lifecycle
from flows import topics
from flows.escalations import ActionForm
from flows.notices import PERSON_TOPICS, may_carry_case_details, person_notice, plain_text
from flows.people import PersonRef
from flows.policy import PolicyError, default_policy_text, load_policy, parse_policy
from tests.conftest import MASH_WORKER, TEACHER
from tests.flows.steps import open_case, outcome

SECURE_GP = PersonRef.by_email("Dr Gita Rao", "gita.rao@nhs.net")
ELSEWHERE = PersonRef.by_email("Pat Police", "pat@police.example")


@pytest.mark.parametrize(
    "email, secure",
    [
        ("gita.rao@nhs.net", True),
        ("GITA@NHS.NET", True),
        ("head@st-marys.croydon.sch.uk", True),  # a subdomain of a secure domain
        ("sw@croydon.gov.uk", True),
        ("pc@met.police.uk", True),
        ("someone@evilnhs.net", False),  # not a subdomain: a different name ending the same way
        ("someone@nhs.net.example.com", False),
        ("pat@police.example", False),
        ("gita@nhs.uk", False),  # a professional domain for free text, but not a secure mail system
        ("not-an-address", False),
        ("", False),
    ],
)
def test_only_secure_domains_and_their_subdomains_may_carry_the_case(email, secure):
    assert may_carry_case_details(load_policy(), email) is secure


def test_a_policy_without_secure_domains_sends_nobody_the_details():
    text = default_policy_text()
    start = text.index("secure_mail_domains = [")
    policy = parse_policy(text[:start] + text[text.index("]", start) + 1 :], "test")
    assert policy.secure_mail_domains == []
    assert not may_carry_case_details(policy, "gita.rao@nhs.net")


def test_a_secure_domain_that_is_not_a_domain_is_refused_with_its_name():
    text = default_policy_text().replace(
        '"nhs.net",\n    "croydon.gov.uk",\n    "met.police.uk"',
        '"nhs net",\n    "croydon.gov.uk",\n    "met.police.uk"',
        1,
    )
    with pytest.raises(PolicyError, match="secure_mail_domains"):
        parse_policy(text, "test")


SECRETS = [
    "J.S.",
    "MOS-123456",
    "Referral to MASH",
    "Repeated absence",
    "did not accept the referral",
    "Early Help",
    "Child and Family assessment",
    "ASKTEXT",
    "PROPOSALTEXT",
    "DECLINETEXT",
    "ACTIONTEXT",
    "OUTCOMETEXT",
    "LEARNINGTEXT",
    "CHASETEXT",
]


@pytest.fixture
def lived_case(ctx):
    """A case with every kind of free text in it: a request to escalate, a declined proposal, an agreed action."""
    case = open_case(ctx, professionals=[MASH_WORKER])
    lifecycle.ask_to_escalate(ctx, case.reference, MASH_WORKER, reason="ASKTEXT")
    case = lifecycle.propose_resolution(
        ctx,
        case.reference,
        MASH_WORKER,
        version=lifecycle.view_case(ctx, case.reference, TEACHER).version,
        outcome=outcome(decision_outcome="PROPOSALTEXT"),
    )
    case = lifecycle.answer_proposal(
        ctx, case.reference, TEACHER, version=case.version, accept=False, reason="DECLINETEXT"
    )
    return lifecycle.resolve(
        ctx,
        case.reference,
        TEACHER,
        version=case.version,
        outcome=outcome(
            decision_outcome="OUTCOMETEXT",
            key_learning="LEARNINGTEXT",
            nothing_outstanding=False,
            actions=[ActionForm("ACTIONTEXT", TEACHER, date(2026, 4, 10))],
        ),
    )


def _whole(notice) -> str:
    return notice.subject + "\n" + plain_text(notice)


@pytest.mark.parametrize("topic", sorted(PERSON_TOPICS))
def test_every_person_topic_has_plain_words_with_details_only_for_a_secure_address(ctx, lived_case, topic):
    case, now = lived_case, ctx.clock.now()
    payload = {
        "stage": 1,
        "side": "receiving",
        "kind": "due_soon",
        "action": case.actions[0].id,
        "message": "CHASETEXT",
    }
    plain = person_notice(topic, case, payload, now, ELSEWHERE)
    secure = person_notice(topic, case, payload, now, SECURE_GP)
    for notice in (plain, secure):
        text = _whole(notice)
        assert notice.subject.startswith(case.reference + ": ")
        assert ("Reference", case.reference) in notice.facts
        assert notice.asked and notice.contact
        # Plain text, dates only: no Slack markup or mention, no count of working days that would go stale.
        assert not [mark for mark in ("*", "<@", "&lt;", ":alarm_clock:") if mark in text]
        assert "working day" not in text
        # People by name and address.
        assert "Tess Teacher (tess@school.example)" in text
    leaked = [s for s in SECRETS if s in _whole(plain)]
    assert not leaked, leaked
    assert "J.S." in _whole(secure) and "Repeated absence" in _whole(secure)


def test_a_step_s_own_free_text_goes_to_a_secure_address(ctx, lived_case):
    case, now = lived_case, ctx.clock.now()
    for topic, payload, words in [
        (topics.ASKED_TO_ESCALATE, {}, "ASKTEXT"),
        (topics.PROPOSAL_DECLINED, {}, "DECLINETEXT"),
        (topics.ACTION_DUE, {"action": case.actions[0].id}, "ACTIONTEXT"),
        (topics.CHASER, {"message": "CHASETEXT"}, "CHASETEXT"),
        (topics.ESCALATION_RESOLVED, {}, "LEARNINGTEXT"),
    ]:
        assert words in _whole(person_notice(topic, case, payload, now, SECURE_GP)), topic


def test_a_reminder_states_the_deadline_as_a_date(ctx):
    case = open_case(ctx, professionals=[SECURE_GP])
    notice = person_notice(topics.REMINDER, case, {"stage": 1, "kind": "due_today"}, ctx.clock.now(), SECURE_GP)
    assert "Tuesday 14 April 2026, 5pm" in notice.lead
    assert ("Deadline", "Due Tuesday 14 April 2026, 5pm") in notice.facts
    # The GP on the receiving side is pointed to the raising side's holder, and the partnership.
    assert notice.contact == "Tess Teacher (tess@school.example); the CSCP team (CSCP@croydon.gov.uk)"
