"""The Escalation Notification Form and the record for an agency's file: opened with python-docx, as Word would,
and every field checked against the case's record."""

import io
from datetime import date, timedelta

import pytest
from docx import Document as Docx
from docx.table import Table
from sqlmodel import select

from flows import escalations as lifecycle
from flows import paperwork
from flows import permissions as can
from flows.errors import Refused
from flows.escalations import ActionForm
from storage.models import AuditEvent
from tests.conftest import (
    CSCP_MEMBER,
    DIRECTOR,
    EXECUTIVE,
    MASH_DIRECTOR,
    MASH_SERVICE,
    MASH_WORKER,
    SERVICE_MANAGER,
    STRANGER,
    TEACHER,
)
from tests.flows.steps import HOLDERS, escalate, formal_record, open_case, outcome, to_stage


def sections(content: bytes) -> dict[str, dict[str, str]]:
    """Each heading's tables as {question: answer}, the title's included."""
    document = Docx(io.BytesIO(content))
    found: dict[str, dict[str, str]] = {}
    heading = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [c.text for c in row.cells]
                found[heading][cells[0]] = cells[1]
        elif block.style.name.startswith(("Heading", "Title")):
            heading = block.text
            found.setdefault(heading, {})
    return found


def rows(content: bytes, heading: str) -> list[list[str]]:
    """The rows of the table under `heading`, header row included."""
    document = Docx(io.BytesIO(content))
    current = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table) and current == heading:
            return [[c.text for c in row.cells] for row in block.rows]
        if not isinstance(block, Table) and block.style.name.startswith("Heading"):
            current = block.text
    raise AssertionError(f"no table under {heading!r}")


def long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def stage_five_case(ctx, clock):
    """A case taken to the Executive: a consultation at Stage 3, notes, every formal record, the decision."""
    case = to_stage(ctx, open_case(ctx, age_band="11 to 15", gender="Female", ethnicity="White", send="Yes"), 3)
    lifecycle.add_note(ctx, case.reference, SERVICE_MANAGER, "Called MASH's service manager.", kind="call")
    case = lifecycle.record_consultation(
        ctx, case.reference, CSCP_MEMBER, version=None, held_on=date(2026, 4, 1), agreed_actions="Joint review."
    )
    clock.advance(timedelta(days=1))
    case = escalate(ctx, case)  # to Stage 4
    clock.advance(timedelta(days=1))
    case = lifecycle.escalate(
        ctx,
        case.reference,
        DIRECTOR,
        version=case.version,
        reason="Directors could not agree: the Executive is asked to decide whether an assessment follows.",
        next_holders=[],
        concerns="Four weeks without an assessment; attendance 61%.",
        decision_outcome="MASH's director upheld the decision.",
        key_learning="Thresholds read differently by the two agencies.",
    )
    clock.advance(timedelta(days=1))
    return lifecycle.record_executive_decision(
        ctx,
        case.reference,
        EXECUTIVE,
        version=case.version,
        outcome=outcome(
            5,
            outcome_kind="decision_changed",
            decision_outcome="An assessment is to start this week.",
            key_learning="Share the reasons for a threshold decision in writing.",
            outcome_date=date(2026, 4, 4),
            nothing_outstanding=False,
            actions=[ActionForm("Start the assessment", MASH_DIRECTOR, date(2026, 4, 10))],
        ),
    )


def test_the_form_for_a_case_that_reached_stage_5_field_by_field(ctx, clock):
    case = stage_five_case(ctx, clock)
    form = paperwork.notification_form(ctx, case.reference, TEACHER)
    assert form.filename == f"{case.reference}-notification-form.docx"
    found = sections(form.content)
    assert found["CSCP Escalation Notification Form"] == {
        "Escalation reference": case.reference,
        "Status": "Closed at Stage 5",
        "Highest stage reached": "Stage 5: CSCP Executive",
        "Form as at": long(date(2026, 4, 4)),
    }
    # The Stage 4 record was completed by the raising side's director, who ended it.
    assert found["Person completing this form"] == {
        "Name": DIRECTOR.name,
        "Role": "Stage 4 holder (directors, assistant directors or designated safeguarding partners)",
        "Agency": "School or college",
        "E-mail": DIRECTOR.email,
        "Date": long(date(2026, 4, 4)),
    }
    assert found["The child"] == {
        "Child's initials": "J.S.",
        "Agency's case reference": "MOS-123456",
        "Age band": "11 to 15",
        "Gender": "Female",
        "Ethnicity": "White",
        "SEND": "Yes",
        "Level of need": "Child in Need",
    }
    assert found["The disagreement"] == {
        "Agency raising the concern": case.raiser_agency,
        "Agency whose decision or action is disagreed with": case.other_agency,
        "Professional(s)": f"{MASH_WORKER.name} ({MASH_WORKER.email})",
        "Areas of disagreement": "Levels of safeguarding or protection need",
        "The outcome wanted": case.outcome_wanted,
    }
    assert found["Stage 3 and Stage 4: description of concerns"] == {
        "Key dates": case.key_dates,
        "Evidence of need": case.evidence_of_need,
        "Key procedural issue or disagreement": case.decision_disagreed,
        "Interventions to date": case.interventions_to_date,
    }
    three, four, five = case.stages[2], case.stages[3], case.stages[4]
    assert found["Stage 3: Service managers"] == {
        "Held by": f"Raising side: {SERVICE_MANAGER.name} ({SERVICE_MANAGER.email}). "
        f"Receiving side: {MASH_SERVICE.name} ({MASH_SERVICE.email})",
        "Started": long(date(2026, 4, 1)),
        "The concerns as they stand": formal_record(3)["concerns"],
        "Is the matter resolved?": "No: escalated to Stage 4",
        "Reflective group consultation": f"Requested {long(date(2026, 4, 1))}; held on {long(date(2026, 4, 1))}. "
        "Actions: Joint review.",
        "Outcome": "",
        "Decision or outcome": formal_record(3)["decision_outcome"],
        "Key learning": formal_record(3)["key_learning"],
        "Date": long(three.outcome_date),
    }
    assert found["Stage 4: Directors"] == {
        "Held by": f"Raising side: {DIRECTOR.name} ({DIRECTOR.email}). "
        f"Receiving side: {MASH_DIRECTOR.name} ({MASH_DIRECTOR.email})",
        "Started": long(four.started_at.date()),
        "The concerns as they stand": four.concerns,
        "Is the matter resolved?": "No: escalated to Stage 5",
        "Outcome": "",
        "Decision or outcome": four.decision_outcome,
        "Key learning": four.key_learning,
        "Date": long(four.outcome_date),
    }
    assert found["Stage 5: CSCP Executive"] == {
        "Concerns, with supporting evidence": "Four weeks without an assessment; attendance 61%.",
        "Request to the Executive Group": five.escalation_reason,
        "The Partnership Executive's decision or outcome": "An assessment is to start this week.",
        "Outcome": "The decision was changed",
        "Key learning": "Share the reasons for a threshold decision in writing.",
        "Date": long(date(2026, 4, 4)),
    }


def test_the_form_for_a_stage_3_case_resolved_at_stage_3(ctx):
    case = to_stage(ctx, open_case(ctx), 3)
    case = lifecycle.resolve(
        ctx,
        case.reference,
        SERVICE_MANAGER,
        version=case.version,
        outcome=outcome(3, concerns="Assessment was delayed.", decision_outcome="MASH will assess."),
    )
    found = sections(paperwork.notification_form(ctx, case.reference, MASH_SERVICE).content)
    assert found["CSCP Escalation Notification Form"]["Status"] == "Resolved at Stage 3"
    assert found["Person completing this form"]["Name"] == SERVICE_MANAGER.name
    assert found["Stage 3: Service managers"] == {
        "Held by": f"Raising side: {SERVICE_MANAGER.name} ({SERVICE_MANAGER.email}). "
        f"Receiving side: {MASH_SERVICE.name} ({MASH_SERVICE.email})",
        "Started": long(date(2026, 4, 1)),
        "The concerns as they stand": "Assessment was delayed.",
        "Is the matter resolved?": "Yes",
        "Reflective group consultation": "Not requested",
        "Outcome": "Action was agreed",
        "Decision or outcome": "MASH will assess.",
        "Key learning": "Talk before deciding.",
        "Date": long(date(2026, 4, 1)),
    }
    # Stages not reached are on the form, marked so.
    assert found["Stage 4: Directors"]["Is the matter resolved?"] == "Not reached"
    assert found["Stage 4: Directors"]["Decision or outcome"] == ""
    assert found["Stage 5: CSCP Executive"]["Request to the Executive Group"] == ""


def test_markup_characters_and_a_long_concern_are_text_in_the_file(ctx):
    hostile = "Attendance <50% & falling; </w:t></w:r><w:r><w:t>{{ reference }} {% if 1 %}x{% endif %}"
    long_text = "The school has seen the child arrive hungry. " * 200  # about 9,000 characters
    case = open_case(ctx, evidence_of_need=hostile, interventions_to_date=long_text, key_dates="1 Mar\n2 Mar")
    case = to_stage(ctx, case, 3)
    found = sections(paperwork.notification_form(ctx, case.reference, SERVICE_MANAGER).content)
    concerns = found["Stage 3 and Stage 4: description of concerns"]
    assert concerns["Evidence of need"] == hostile
    assert concerns["Interventions to date"] == long_text.strip() == case.interventions_to_date
    assert concerns["Key dates"] == "1 Mar\n2 Mar"  # a line break in the cell


def test_the_record_for_each_sides_file(ctx, clock):
    case = stage_five_case(ctx, clock)
    raising = paperwork.record_for_file(ctx, case.reference, SERVICE_MANAGER)
    receiving = paperwork.record_for_file(ctx, case.reference, MASH_SERVICE)
    assert raising.filename.endswith("-record-raising.docx") and receiving.filename.endswith("-record-receiving.docx")
    mine, theirs = sections(raising.content), sections(receiving.content)
    mine[""], theirs[""] = (
        mine.pop("Escalation record for School or college"),
        theirs.pop("Escalation record for Children's Social Care (MASH)"),
    )
    assert mine[""]["Your agency's case reference"] == "MOS-123456"
    assert mine[""]["Your agency"] == "School or college"
    assert theirs[""]["Your agency"] == "Children's Social Care (MASH)"
    assert theirs[""]["The other agency"] == "School or college"
    assert "add your own" in theirs[""]["Your agency's case reference"]
    assert mine[""]["Opened"] == long(date(2026, 4, 1)) and mine[""]["Closed"] == long(date(2026, 4, 4))
    stages = rows(raising.content, "The stages")
    assert stages[0] == ["Stage", "Started", "Ended", "Raising side", "Receiving side", "How it ended"]
    assert [r[0].split(":")[0] for r in stages[1:]] == [f"Stage {n}" for n in range(1, 6)]
    for number, row in enumerate(stages[1:5], start=1):
        assert row[3] == f"{HOLDERS[number][0].name} ({HOLDERS[number][0].email})"
        assert row[4] == f"{HOLDERS[number][1].name} ({HOLDERS[number][1].email})"
        assert row[5] == "Escalated"
    assert EXECUTIVE.name in stages[5][0] and stages[5][5] == "The Executive's decision"
    notes = rows(raising.content, "Notes")
    assert notes[1] == [
        long(date(2026, 4, 1)),
        "Stage 3",
        f"{SERVICE_MANAGER.name} ({SERVICE_MANAGER.email})",
        "Phone call",
        "Called MASH's service manager.",
    ]
    assert mine["Outcome"] == {
        "Outcome": "The decision was changed",
        "Decision or outcome": "An assessment is to start this week.",
        "Key learning": "Share the reasons for a threshold decision in writing.",
        "Date": long(date(2026, 4, 4)),
    }
    assert rows(raising.content, "Actions on outstanding issues")[1] == [
        "Start the assessment",
        f"{MASH_DIRECTOR.name} ({MASH_DIRECTOR.email})",
        long(date(2026, 4, 10)),
    ]
    assert "Nothing is outstanding." not in Docx(io.BytesIO(raising.content)).paragraphs[-1].text


def test_a_withdrawn_case_records_why_and_nothing_outstanding(ctx):
    case = open_case(ctx)
    case = lifecycle.withdraw(ctx, case.reference, TEACHER, version=case.version, reason="MASH accepted it.")
    record = paperwork.record_for_file(ctx, case.reference, TEACHER)
    found = sections(record.content)
    assert found["Outcome"]["Outcome"] == "Withdrawn"
    assert found["Outcome"]["Decision or outcome"] == "MASH accepted it."
    assert "Nothing is outstanding." in [p.text for p in Docx(io.BytesIO(record.content)).paragraphs]
    assert rows(record.content, "Actions on outstanding issues") == [["What", "Who", "By when"]]


def test_who_may_have_the_documents_and_every_request_is_audited(ctx):
    case = to_stage(ctx, open_case(ctx), 3)
    for person in (TEACHER, MASH_WORKER, SERVICE_MANAGER, MASH_SERVICE, CSCP_MEMBER):
        paperwork.notification_form(ctx, case.reference, person)
        paperwork.record_for_file(ctx, case.reference, person)
    with pytest.raises(Refused) as refused:
        paperwork.notification_form(ctx, case.reference, STRANGER)
    assert refused.value.reason == "not_found"  # a stranger learns nothing, not even that it exists
    with pytest.raises(Refused):
        paperwork.record_for_file(ctx, case.reference, STRANGER)
    with ctx.db.transaction() as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.escalation_id == case.id))]
    assert actions.count(can.NOTIFICATION_FORM) == 5 and actions.count(can.RECORD_FOR_FILE) == 5
    assert actions.count("refused") == 2
    # A read, not part of the case's story.
    from flows.queries import history

    assert can.NOTIFICATION_FORM not in {e.action for e in history(ctx, case, TEACHER)}


def test_the_form_starts_at_stage_3_and_the_table_can_narrow_it(ctx):
    case = open_case(ctx)
    with pytest.raises(Refused) as refused:
        paperwork.notification_form(ctx, case.reference, TEACHER)
    assert "completed from Stage 3" in str(refused.value)
    paperwork.record_for_file(ctx, case.reference, TEACHER)  # the record is there from the start
    # A partnership that keeps the form to its own team says so in its table.
    ctx.policy = ctx.policy.model_copy(
        update={"permissions": {**ctx.policy.permissions, can.NOTIFICATION_FORM: [can.PARTNERSHIP_TEAM]}}
    )
    narrowed = to_stage(ctx, open_case(ctx), 3)
    with pytest.raises(Refused) as refused:
        paperwork.notification_form(ctx, narrowed.reference, SERVICE_MANAGER)
    assert refused.value.reason == "not_allowed"
    paperwork.notification_form(ctx, narrowed.reference, CSCP_MEMBER)


def test_a_policy_from_before_the_paperwork_still_loads(ctx):
    from flows.policy import Policy

    old = ctx.policy.model_dump()
    for action in (*can.DOCUMENTS, can.REPORT):
        del old["permissions"][action]
    policy = Policy.model_validate(old)
    assert policy.permissions[can.REPORT] == [can.PARTNERSHIP_TEAM]
    assert can.EARLIER_HOLDER in policy.permissions[can.NOTIFICATION_FORM]
