from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from flows import escalations as lifecycle
from flows.errors import Refused
from flows.escalations import ActionForm
from flows.people import PersonRef
from storage.models import AuditEvent, Escalation, OutboxMessage, StageRecord
from tests.conftest import (
    CSCP_MEMBER,
    DIRECTOR,
    EXECUTIVE,
    MASH_DIRECTOR,
    MASH_MANAGER,
    MASH_SERVICE,
    MASH_WORKER,
    SCRUTINEER,
    SERVICE_MANAGER,
    STRANGER,
    TEACHER,
    TEACHER_MANAGER,
    a_form,
)
from tests.flows.steps import HOLDERS, escalate, formal_record, open_case, outcome, to_stage

UTC = UTC


def rows(ctx, model):
    with ctx.db.transaction() as session:
        return session.exec(select(model).order_by(model.id)).all()


def counts(ctx):
    return {model.__name__: len(rows(ctx, model)) for model in (Escalation, StageRecord, AuditEvent, OutboxMessage)}


def test_a_case_runs_from_stage_1_to_a_stage_5_decision_with_the_right_deadlines(ctx, clock):
    case = open_case(ctx)
    assert case.reference == "ESC-2026-0001"
    assert case.current_stage == 1 and case.status == "open"
    # Opened Wednesday 1 April 2026: due Tuesday 14 April at 17:00 BST (Good Friday and Easter Monday skipped).
    assert case.stage.due_at == datetime(2026, 4, 14, 16, 0, tzinfo=UTC)
    assert case.stage.raising == (TEACHER,) and case.stage.receiving == (MASH_WORKER,)

    lifecycle.add_note(ctx, case.reference, MASH_WORKER, "Call with the teacher; MASH will review.", "call")

    steps = [
        # (when the stage is escalated, expected deadline of the next stage)
        (datetime(2026, 4, 10, 11, 0, tzinfo=UTC), datetime(2026, 4, 21, 16, 0, tzinfo=UTC)),
        (datetime(2026, 4, 21, 9, 0, tzinfo=UTC), datetime(2026, 4, 30, 16, 0, tzinfo=UTC)),
        # Started Thursday 30 April: May Day (Monday 4 May) falls in the count.
        (datetime(2026, 4, 30, 15, 0, tzinfo=UTC), datetime(2026, 5, 12, 16, 0, tzinfo=UTC)),
        # Started Friday 22 May: Spring bank holiday (Monday 25 May) falls in the count.
        (datetime(2026, 5, 22, 10, 0, tzinfo=UTC), datetime(2026, 6, 3, 16, 0, tzinfo=UTC)),
    ]
    for when, due in steps:
        clock.set(when)
        case = escalate(ctx, case)
        assert case.stage.due_at == due, case.current_stage
        assert case.stage.started_at == when
        if case.current_stage < 5:
            assert (case.stage.raising, case.stage.receiving) == tuple((h,) for h in HOLDERS[case.current_stage])

    assert case.current_stage == 5 and case.stage.executive == (EXECUTIVE,)
    clock.set(datetime(2026, 6, 2, 10, 0, tzinfo=UTC))
    case = lifecycle.record_executive_decision(
        ctx,
        case.reference,
        EXECUTIVE,
        version=case.version,
        outcome=outcome(
            5,
            outcome_kind="decision_changed",
            decision_outcome="A Child and Family assessment will start.",
            key_learning="Share threshold reasons in writing.",
            outcome_date=date(2026, 6, 2),
        ),
    )
    assert case.status == "closed"
    assert [s.ended_how for s in case.stages] == ["escalated"] * 4 + ["executive_decision"]
    assert case.stages[-1].key_learning == "Share threshold reasons in writing."
    # Each formal stage keeps the notification form's answers for it.
    assert [bool(s.concerns) for s in case.stages] == [False, False, True, True, False]
    assert case.stages[2].resolved is False and case.stages[2].outcome_date == date(2026, 4, 30)
    assert case.closed_at == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    assert [n.kind for n in case.notes] == ["call"]


def test_every_change_appends_an_audit_event_and_writes_its_messages(ctx):
    case = open_case(ctx, professionals=[MASH_WORKER, PersonRef.by_email("Pat Police", "pat@police.example")])
    audit = rows(ctx, AuditEvent)
    assert [(a.action, a.actor_id is not None) for a in audit] == [("opened", True)]
    outbox = rows(ctx, OutboxMessage)
    # The raiser gets the card; the professional in the workspace is invited to talk; with e-mail off, the
    # raiser is asked to contact the one known only by e-mail.
    assert sorted((m.topic, m.audience) for m in outbox) == [
        ("contact_by_hand", "person"),
        ("escalation_opened", "person"),
        ("invited_to_talk", "person"),
    ]
    by_hand = next(m for m in outbox if m.topic == "contact_by_hand")
    assert by_hand.recipient_id == next(m for m in outbox if m.topic == "escalation_opened").recipient_id
    assert by_hand.payload == {"stage": 1, "about": "invited_to_talk", "person": "pat@police.example"}

    case = lifecycle.add_note(ctx, case.reference, TEACHER, "Spoke to Sam.")
    case = to_stage(ctx, case, 3)
    case = lifecycle.request_reflective_consultation(
        ctx, case.reference, SERVICE_MANAGER, version=case.version, note="Case is stuck."
    )
    case = lifecycle.resolve(ctx, case.reference, SERVICE_MANAGER, version=case.version, outcome=outcome(3))
    assert [a.action for a in rows(ctx, AuditEvent)] == [
        "opened",
        "note",
        "escalate",
        "name_holder",
        "escalate",
        "name_holder",
        "request_consultation",
        "resolve",
    ]
    audit = rows(ctx, AuditEvent)
    assert audit[2].detail["from_stage"] == 1 and audit[2].detail["to_stage"] == 2

    topics = [(m.topic, m.audience) for m in rows(ctx, OutboxMessage)]
    # Each change refreshes every copy of the card.
    assert topics.count(("case_updated", "cards")) == 7
    # Each side's new holder is told; the other side is asked to name theirs; the partnership from Stage 3.
    assert topics.count(("stage_started", "person")) == 4
    assert topics.count(("name_your_holder", "person")) == 2
    assert topics.count(("stage_started", "partnership")) == 1
    assert ("holder_named", "partnership") in topics
    assert ("reflective_consultation_requested", "partnership") in topics
    assert ("escalation_resolved", "partnership") in topics
    # Everyone in the case with a chat account hears of the resolution: 2 practitioners, 4 managers, 2 SMs.
    assert topics.count(("escalation_resolved", "person")) == 6


def test_immediate_risk_stores_nothing_and_gives_the_guidance(ctx):
    before = counts(ctx)
    with pytest.raises(Refused) as refused:
        lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=True, discussed_with_manager=True)
    assert refused.value.reason == "immediate_risk"
    assert "999" in refused.value.message and "020 8255 2888" in refused.value.message
    assert counts(ctx) == before


def test_the_line_manager_discussion_comes_first(ctx):
    with pytest.raises(Refused) as refused:
        lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=False, discussed_with_manager=False)
    assert refused.value.field == "discussed_with_manager"
    with pytest.raises(Refused) as refused:
        lifecycle.open_escalation(ctx, TEACHER, a_form(), child_at_immediate_risk=None, discussed_with_manager=True)
    assert refused.value.field == "immediate_risk"
    assert counts(ctx)["Escalation"] == 0


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"child_initials": "Jane Smith"}, "child_initials", "at most 4 letters"),
        ({"child_initials": "J5"}, "child_initials", "Initials can only contain letters, for example J.S."),
        ({"child_initials": "  "}, "child_initials", "initials"),
        ({"child_case_reference": ""}, "child_case_reference", "case reference"),
        ({"child_case_reference": "12 High St; flat 3"}, "child_case_reference", "only contain"),
        ({"level_of_need": "Severe"}, "level_of_need", "level of need"),
        ({"raiser_agency": "Acme"}, "raiser_agency", "your agency"),
        ({"other_agency": ""}, "other_agency", "other agency"),
        ({"themes": []}, "themes", "at least one"),
        ({"themes": ["Made up"]}, "themes", "from the list"),
        ({"key_dates": " "}, "key_dates", "key dates"),
        ({"evidence_of_need": "x" * 10_001}, "evidence_of_need", "10,000"),  # the policy's own limit
        ({"age_band": "Teenager"}, "age_band", "an age band"),
        ({"decision_disagreed": ""}, "decision_disagreed", "disagree"),
        ({"interventions_to_date": ""}, "interventions_to_date", "interventions"),
        ({"outcome_wanted": ""}, "outcome_wanted", "outcome"),
        ({"raiser_role": ""}, "raiser_role", "role"),
        ({"professionals": [PersonRef.by_email("Pat", "not-an-email")]}, "professionals_by_email", "e-mail"),
        ({"professionals": [TEACHER]}, "professionals", "yourself"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(ctx, changes, field, words):
    before = counts(ctx)
    with pytest.raises(Refused) as refused:
        open_case(ctx, **changes)
    assert refused.value.field == field
    assert words in refused.value.message
    assert counts(ctx) == before


def test_initials_are_kept_in_capitals_and_accept_dots_and_spaces(ctx):
    assert open_case(ctx, child_initials="j. s").child_initials == "J. S"
    assert open_case(ctx, child_initials="ABCD").child_initials == "ABCD"


def test_references_count_up_within_the_year(ctx, clock):
    assert [open_case(ctx).reference for _ in range(3)] == ["ESC-2026-0001", "ESC-2026-0002", "ESC-2026-0003"]
    clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    assert open_case(ctx).reference == "ESC-2027-0001"


class TestRefusedTransitions:
    def test_a_stranger_can_neither_act_nor_see_and_learns_nothing(self, ctx):
        case = open_case(ctx)
        before = counts(ctx)
        with pytest.raises(Refused) as refused:
            lifecycle.escalate(ctx, case.reference, STRANGER, version=case.version, reason="x", next_holders=[STRANGER])
        assert refused.value.reason == "not_found"
        with pytest.raises(Refused):
            lifecycle.add_note(ctx, case.reference, STRANGER, "hello")
        with pytest.raises(Refused) as seen:
            lifecycle.view_case(ctx, case.reference, STRANGER)
        with pytest.raises(Refused) as missing:
            lifecycle.view_case(ctx, "ESC-2026-0404", STRANGER)
        # A case that exists but is not yours gets the same answer as one that does not exist.
        assert seen.value.message.replace("0001", "0404") == missing.value.message
        assert seen.value.reason == missing.value.reason == "not_found"
        after = counts(ctx)
        assert after["AuditEvent"] == before["AuditEvent"] + 3
        assert {a.action for a in rows(ctx, AuditEvent)[-3:]} == {"refused"}
        assert after["OutboxMessage"] == before["OutboxMessage"]
        assert rows(ctx, Escalation)[0].version == case.version

    def test_the_partnership_sees_a_case_only_from_the_stage_it_is_told(self, ctx):
        case = open_case(ctx)
        with pytest.raises(Refused):
            lifecycle.view_case(ctx, case.reference, CSCP_MEMBER)
        case = to_stage(ctx, case, 3)
        assert lifecycle.view_case(ctx, case.reference, CSCP_MEMBER).current_stage == 3
        assert rows(ctx, AuditEvent)[-1].action == "viewed"

    def test_an_earlier_holder_may_see_and_add_notes_but_not_decide(self, ctx):
        case = to_stage(ctx, open_case(ctx), 2)
        assert lifecycle.view_case(ctx, case.reference, MASH_WORKER).reference == case.reference
        lifecycle.add_note(ctx, case.reference, MASH_WORKER, "note")
        before = counts(ctx)
        with pytest.raises(Refused) as refused:
            lifecycle.resolve(ctx, case.reference, TEACHER, version=case.version, outcome=outcome())
        assert refused.value.reason == "not_allowed"
        assert "raising side's holder" in refused.value.message
        assert counts(ctx)["OutboxMessage"] == before["OutboxMessage"]

    def test_a_stale_click_changes_nothing(self, ctx):
        case = open_case(ctx)
        escalate(ctx, case, name_other_side=False)
        before = counts(ctx)
        with pytest.raises(Refused) as refused:
            lifecycle.escalate(
                ctx, case.reference, TEACHER, version=case.version, reason="again", next_holders=[TEACHER_MANAGER]
            )
        assert refused.value.reason == "stale"
        assert counts(ctx) == before

    def test_no_action_on_a_closed_case(self, ctx):
        case = open_case(ctx)
        case = lifecycle.withdraw(ctx, case.reference, TEACHER, version=case.version, reason="Agreed after a call.")
        assert case.status == "withdrawn" and case.withdrawal_reason == "Agreed after a call."
        before = counts(ctx)
        for attempt in (
            lambda: lifecycle.add_note(ctx, case.reference, TEACHER, "late note"),
            lambda: lifecycle.escalate(
                ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER_MANAGER]
            ),
            lambda: lifecycle.resolve(ctx, case.reference, TEACHER, version=case.version, outcome=outcome()),
            lambda: lifecycle.withdraw(ctx, case.reference, TEACHER, version=case.version, reason="r"),
        ):
            with pytest.raises(Refused) as refused:
                attempt()
            assert refused.value.reason == "closed"
        assert counts(ctx) == before

    def test_no_escalation_past_the_final_stage_and_no_plain_resolve_there(self, ctx):
        case = to_stage(ctx, open_case(ctx), 5)
        before = counts(ctx)
        with pytest.raises(Refused):
            lifecycle.escalate(
                ctx, case.reference, DIRECTOR, version=case.version, reason="r", next_holders=[EXECUTIVE]
            )
        with pytest.raises(Refused):
            lifecycle.resolve(ctx, case.reference, EXECUTIVE, version=case.version, outcome=outcome(5))
        assert counts(ctx)["Escalation"] == before["Escalation"]
        assert rows(ctx, Escalation)[0].version == case.version

    def test_the_executive_alone_decides_at_stage_5(self, ctx):
        case = open_case(ctx)
        with pytest.raises(Refused):
            lifecycle.record_executive_decision(ctx, case.reference, TEACHER, version=case.version, outcome=outcome())
        case = to_stage(ctx, case, 5)
        for party in (TEACHER, DIRECTOR, MASH_DIRECTOR, CSCP_MEMBER):
            with pytest.raises(Refused) as refused:
                lifecycle.record_executive_decision(
                    ctx, case.reference, party, version=case.version, outcome=outcome(5)
                )
            assert refused.value.reason == "not_allowed", party
        assert (
            lifecycle.record_executive_decision(
                ctx, case.reference, EXECUTIVE, version=case.version, outcome=outcome(5)
            ).status
            == "closed"
        )

    def test_the_scrutineer_is_told_when_a_case_reaches_stage_5(self, ctx):
        case = to_stage(ctx, open_case(ctx), 5)
        with ctx.db.transaction() as session:
            from storage.models import Person

            told = [
                session.get(Person, m.recipient_id).platform_user_id
                for m in session.exec(select(OutboxMessage).where(OutboxMessage.topic == "scrutineer_informed")).all()
            ]
        assert told == [SCRUTINEER.user_id]
        assert case.stage.executive == (EXECUTIVE,)

    def test_a_reflective_consultation_only_at_stage_3_and_once(self, ctx):
        case = open_case(ctx)
        with pytest.raises(Refused, match="consultation is not open"):
            lifecycle.request_reflective_consultation(ctx, case.reference, TEACHER, version=case.version)
        case = to_stage(ctx, case, 3)
        case = lifecycle.request_reflective_consultation(ctx, case.reference, MASH_SERVICE, version=case.version)
        with pytest.raises(Refused, match="consultation is not open"):
            lifecycle.request_reflective_consultation(ctx, case.reference, SERVICE_MANAGER, version=case.version)

    @pytest.mark.parametrize(
        "changes, field",
        [
            ({"outcome_kind": "maybe"}, "outcome_kind"),
            ({"decision_outcome": ""}, "decision_outcome"),
            ({"key_learning": " "}, "key_learning"),
            ({"outcome_date": None}, "outcome_date"),
            ({"outcome_date": date(2026, 4, 2)}, "outcome_date"),  # in the future
            ({"outcome_date": date(2026, 3, 31)}, "outcome_date"),  # before the case was opened
            ({"nothing_outstanding": False}, "action_1_what"),  # how outstanding issues are pursued, in writing
            (
                {"nothing_outstanding": False, "actions": [ActionForm("Joint visit", None, date(2026, 4, 8))]},
                "action_1_owner",
            ),
            ({"nothing_outstanding": False, "actions": [ActionForm("Joint visit", MASH_WORKER, None)]}, "action_1_due"),
            (
                {"nothing_outstanding": False, "actions": [ActionForm("Visit", MASH_WORKER, date(2026, 3, 31))]},
                "action_1_due",
            ),
        ],
    )
    def test_a_resolution_needs_its_fields(self, ctx, changes, field):
        case = open_case(ctx)
        before = counts(ctx)
        with pytest.raises(Refused) as refused:
            lifecycle.resolve(ctx, case.reference, TEACHER, version=case.version, outcome=outcome(**changes))
        assert refused.value.field == field
        assert counts(ctx) == before

    def test_escalation_needs_an_account_and_a_next_holder(self, ctx):
        case = open_case(ctx)
        with pytest.raises(Refused) as refused:
            lifecycle.escalate(
                ctx, case.reference, TEACHER, version=case.version, reason="", next_holders=[TEACHER_MANAGER]
            )
        assert refused.value.field == "reason"
        with pytest.raises(Refused) as refused:
            lifecycle.escalate(ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[])
        assert refused.value.field == "next_holders"

    def test_a_formal_stage_is_escalated_with_the_notification_forms_answers(self, ctx):
        case = to_stage(ctx, open_case(ctx), 3)
        for missing in ("concerns", "decision_outcome", "key_learning"):
            record = {**formal_record(3), missing: ""}
            with pytest.raises(Refused) as refused:
                lifecycle.escalate(
                    ctx,
                    case.reference,
                    SERVICE_MANAGER,
                    version=case.version,
                    reason="r",
                    next_holders=[DIRECTOR],
                    **record,
                )
            assert refused.value.field == missing

    def test_an_unknown_reference(self, ctx):
        with pytest.raises(Refused) as refused:
            lifecycle.view_case(ctx, "ESC-2026-9999", TEACHER)
        assert refused.value.reason == "not_found"

    def test_a_reference_is_found_however_it_is_typed(self, ctx):
        case = open_case(ctx)
        assert lifecycle.view_case(ctx, "esc-2026-1", TEACHER).reference == case.reference
        assert lifecycle.view_case(ctx, " ESC-2026-00001 ", TEACHER).reference == case.reference


def test_the_audit_trail_cannot_be_changed(ctx):
    open_case(ctx)
    # Each on its own connection: on PostgreSQL a refused statement ends its transaction.
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event") + (
        () if ctx.db.is_sqlite else ("TRUNCATE audit_event CASCADE",)
    ):
        with ctx.db.engine.connect() as connection:
            with pytest.raises(Exception, match="never changed or deleted"):
                connection.exec_driver_sql(sql)
    with pytest.raises(RuntimeError):
        with ctx.db.transaction() as session:
            event = session.exec(select(AuditEvent)).first()
            event.action = "tampered"
            session.add(event)


def test_a_later_stage_started_after_a_delay_still_counts_from_its_own_start(ctx, clock):
    case = open_case(ctx)
    clock.advance(timedelta(days=20))  # Tuesday 21 April 2026
    case = escalate(ctx, case)
    assert case.stage.due_at == datetime(2026, 4, 30, 16, 0, tzinfo=UTC)


def test_a_correction_erases_the_old_value_from_every_table(ctx):
    from sqlalchemy import inspect

    case = open_case(ctx, key_dates="Referral 20 March 2026 about Jennifer Smithson.")
    lifecycle.add_note(ctx, case.reference, MASH_WORKER, "Discussed the referral.")
    case = lifecycle.correct_details(
        ctx, case.reference, TEACHER, field_name="key_dates", value="Referral 20 March 2026 about J.S."
    )
    assert case.key_dates == "Referral 20 March 2026 about J.S."
    with ctx.db.engine.connect() as connection:
        for table in inspect(ctx.db.engine).get_table_names():
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}").all():
                assert "Jennifer" not in repr(row), table
    # The audit says which field was corrected, by whom and when: never what it said.
    corrected = rows(ctx, AuditEvent)[-1]
    assert corrected.action == "corrected" and corrected.detail == {"field": "key_dates", "stage": 1}
    # Only the raiser corrects, and the new value is checked as at raising.
    with pytest.raises(Refused) as refused:
        lifecycle.correct_details(ctx, case.reference, TEACHER, field_name="child_initials", value="Jane Smith")
    assert refused.value.field == "child_initials"
    with pytest.raises(Refused) as refused:
        lifecycle.correct_details(ctx, case.reference, MASH_WORKER, field_name="key_dates", value="x")
    assert refused.value.reason == "not_allowed"


def test_agreed_actions_show_on_the_case_and_their_owners_are_reminded_on_the_date(ctx, clock):
    from flows.reminders import remind_agreed_actions

    case = open_case(ctx)
    case = lifecycle.resolve(
        ctx,
        case.reference,
        TEACHER,
        version=case.version,
        outcome=outcome(
            nothing_outstanding=False, actions=[ActionForm("Joint home visit", MASH_WORKER, date(2026, 4, 8))]
        ),
    )
    assert [(a.what, a.owner.key, a.due_on) for a in case.actions] == [
        ("Joint home visit", MASH_WORKER.key, date(2026, 4, 8))
    ]
    assert case.stage.agreed_with == (MASH_WORKER,) and case.stage.ended_by == TEACHER
    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))
    assert remind_agreed_actions(ctx) == 0  # not yet
    clock.set(datetime(2026, 4, 8, 8, 45, tzinfo=UTC))  # 09:45 BST on the day
    assert remind_agreed_actions(ctx) == 1
    assert remind_agreed_actions(ctx) == 0  # once
    due = [m for m in rows(ctx, OutboxMessage) if m.topic == "action_due"]
    assert len(due) == 1 and due[0].payload == {"action": case.actions[0].id}


def test_a_hand_over_passes_the_role_and_tells_both_sides(ctx):
    case = to_stage(ctx, open_case(ctx), 2)
    colleague = PersonRef("slack", "U0COVER", "Cora Cover", "cora@mash.example")
    case = lifecycle.hand_over(
        ctx, case.reference, MASH_MANAGER, version=case.version, from_person=MASH_MANAGER, to_person=colleague
    )
    assert case.stage.receiving == (colleague,) and case.stage.former == (("receiving", MASH_MANAGER),)
    told = {(m.topic, m.recipient_id) for m in rows(ctx, OutboxMessage)[-4:]}
    assert {t for t, _ in told} >= {"handed_over_to_you", "handed_over"}
    # Nobody holds a stage above their level on one case: not the raiser as their own manager, not the other side.
    case = to_stage(ctx, case, 2)
    with pytest.raises(Refused) as refused:
        lifecycle.hand_over(
            ctx, case.reference, TEACHER_MANAGER, version=case.version, from_person=TEACHER_MANAGER, to_person=TEACHER
        )
    assert refused.value.field == "to_person" and "already held Stage 1" in refused.value.message
    with pytest.raises(Refused) as refused:
        lifecycle.hand_over(
            ctx,
            case.reference,
            TEACHER_MANAGER,
            version=case.version,
            from_person=TEACHER_MANAGER,
            to_person=MASH_WORKER,
        )
    assert "other side" in refused.value.message


def test_the_raiser_cannot_be_their_own_manager(ctx):
    case = open_case(ctx)
    with pytest.raises(Refused) as refused:
        lifecycle.escalate(ctx, case.reference, TEACHER, version=case.version, reason="r", next_holders=[TEACHER])
    assert refused.value.field == "next_holders" and "already held Stage 1" in refused.value.message
