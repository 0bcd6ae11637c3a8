from datetime import UTC, datetime

import pytest

from flows import escalations as lifecycle
from flows.context import Context
from flows.errors import Refused
from flows.policy import PolicyError, default_policy_text, load_policy, parse_policy
from tests.conftest import EXECUTIVE, MASH_MANAGER, SERVICE_MANAGER, TEACHER, TEACHER_MANAGER, a_form
from tests.flows.steps import outcome

UTC = UTC


def four_stage_policy_text() -> str:
    """Another partnership: four stages of 5 working days, partnership told from Stage 2."""
    text = default_policy_text()
    text = text.replace("partnership_informed_from_stage = 3", "partnership_informed_from_stage = 2")
    text = text.replace("notification_form_from_stage = 3", "notification_form_from_stage = 2")
    text = text.replace("reflective_consultation_stages = [3]", "reflective_consultation_stages = [2]")
    text = text.replace("working_days = 7", "working_days = 5")
    # Drop Stage 5; the Executive decides at Stage 4.
    start = text.index("[[stages]]\nnumber = 5")
    end = text.index("[permissions]")
    text = text[:start] + text[end:]
    return text.replace(
        'held_by = "directors, assistant directors or designated safeguarding partners"',
        'held_by = "the partnership Executive"\nholders = "executive"',
    )


def test_the_croydon_policy_is_the_default():
    policy = load_policy()
    assert [s.name for s in policy.stages] == [
        "Frontline practitioners",
        "Line managers",
        "Service managers",
        "Directors",
        "CSCP Executive",
    ]
    assert [s.formal for s in policy.stages] == [False, False, True, True, True]
    assert all(s.working_days == 7 for s in policy.stages)
    assert policy.partnership_informed_at(3) and not policy.partnership_informed_at(2)
    assert policy.notification_form_at(3) and policy.reflective_consultation_at(3)
    assert policy.final_stage == 5
    assert "Child Protection" in policy.lists.levels_of_need


def test_a_four_stage_scheme_works_by_changing_the_file_alone(tmp_path, database, clock):
    path = tmp_path / "other.toml"
    path.write_text(four_stage_policy_text())
    ctx = Context(db=database, policy=load_policy(path), clock=clock, executive=(EXECUTIVE,))
    case = lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True)
    # 5 working days from Wednesday 1 April 2026, Easter skipped: Friday 10 April.
    assert case.stage.due_at == datetime(2026, 4, 10, 16, 0, tzinfo=UTC)
    assert case.stage_count == 4
    case = lifecycle.escalate(
        ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
    )
    assert case.partnership_informed
    case = lifecycle.request_reflective_consultation(ctx, case.reference, TEACHER_MANAGER, version=case.version)
    case = lifecycle.escalate(
        ctx, case.reference, TEACHER_MANAGER, version=case.version, reason="r", next_holders=[SERVICE_MANAGER]
    )
    case = lifecycle.escalate(
        ctx,
        case.reference,
        SERVICE_MANAGER,
        version=case.version,
        reason="r",
        next_holders=[],
        concerns="c",
        decision_outcome="d",
        key_learning="k",
    )
    assert case.current_stage == 4 and case.is_final_stage and case.stage.executive == (EXECUTIVE,)
    with pytest.raises(Refused):
        lifecycle.escalate(
            ctx, case.reference, SERVICE_MANAGER, version=case.version, reason="r", next_holders=[MASH_MANAGER]
        )
    case = lifecycle.record_executive_decision(
        ctx, case.reference, EXECUTIVE, version=case.version, outcome=outcome(4, outcome_kind="decision_upheld")
    )
    assert case.status == "closed"


def test_a_case_keeps_the_policy_it_was_opened_under(tmp_path, database, clock):
    croydon = Context(db=database, policy=load_policy(), clock=clock)
    case = lifecycle.open_escalation(
        croydon, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )
    path = tmp_path / "other.toml"
    path.write_text(four_stage_policy_text())
    changed = Context(db=database, policy=load_policy(path), clock=clock)
    case = lifecycle.escalate(
        changed, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
    )
    # Still Croydon's: 7 working days, five stages, the partnership not told at Stage 2.
    assert case.stage.due_at == datetime(2026, 4, 14, 16, 0, tzinfo=UTC)
    assert case.stage_count == 5 and not case.partnership_informed
    new_case = lifecycle.open_escalation(
        changed, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=True
    )
    assert new_case.stage_count == 4


@pytest.mark.parametrize(
    "mangle, words",
    [
        (lambda t: t.replace("working_days = 7", "working_days = 0", 1), "stages.0.working_days"),
        (lambda t: t.replace("number = 2", "number = 7"), "numbered 1, 2, 3"),
        (
            lambda t: t.replace("partnership_informed_from_stage = 3", "partnership_informed_from_stage = 9"),
            "only 5 stages",
        ),
        (lambda t: t.replace('timezone = "Europe/London"', 'timezone = "Mars/Olympus"'), "unknown time zone"),
        (lambda t: t.replace('name = "Line managers"', 'name = "Line managers"\ncolour = "red"'), "colour"),
        (lambda t: t.replace("[lists]", "[lists"), "not valid TOML"),
        (
            lambda t: t.replace('"Early Help",\n    "Child in Need"', '"Early Help",\n    "Early Help"'),
            "same entry twice",
        ),
    ],
)
def test_a_broken_policy_file_is_refused_with_the_problem_named(tmp_path, mangle, words):
    path = tmp_path / "broken.toml"
    path.write_text(mangle(default_policy_text()))
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert str(path) in str(error.value)
    assert words in str(error.value)


def test_a_missing_policy_file():
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy("/nonexistent/policy.toml")


def test_parse_policy_round_trips_the_snapshot():
    policy = parse_policy(default_policy_text())
    assert type(policy).from_snapshot(policy.snapshot()) == policy
