"""The partnership's paperwork, for every front-end: the Escalation Notification Form and the record for each
agency's file, as Word documents filled from the case's record.

Each is rendered from a template in flows/templates/ that the partnership edits in Word (see
tools/build_paperwork_templates.py for how they were first made). Values go in through docxtpl with Jinja's
autoescaping on, so `<` or `&` typed in a concern is text, never markup. A front-end asks for a document with
`notification_form` or `record_for_file` (who may have it is the policy's [permissions] table, and asking is
audited); a sender delivering an outbox message about a document calls `document_for`, then sends the bytes
its own way (Slack's file upload, a Teams attachment).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from flows import permissions as can
from flows import topics
from flows.context import Context
from flows.errors import Refused
from flows.escalations import ASKED, CLOSURE, NOTE_WORDS, OUTCOME_KINDS, STAGE, operator_view, view_case
from flows.notices import long_date, named
from flows.people import PersonRef
from flows.permissions import RAISING, RECEIVING
from flows.persons import person_row
from flows.queries import remembered_role_and_agency
from flows.records import CaseView, StageView
from storage.models import CaseStatus, OutboxMessage

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SIDE_WORDS = {RAISING: "The raising side (the agency with the concern)", RECEIVING: "The receiving side"}
ENDED_WORDS = {
    "resolved": "Resolved",
    "escalated": "Escalated",
    "withdrawn": "Withdrawn",
    "executive_decision": "The Executive's decision",
}
ERASED = "(erased under the retention rule)"
# Characters XML 1.0 cannot hold at all: dropped, so no typed text can make the file unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Document:
    """A document ready to send: what a sender needs, whatever its channel."""

    kind: str  # notification_form, record_for_file, report
    reference: str  # the case's, or the report's period
    filename: str
    title: str
    content: bytes
    mime_type: str = DOCX


# ---------------------------------------------------------------- asking for one


def notification_form(ctx: Context, reference: str, reader: PersonRef | None) -> Document:
    """The case's Escalation Notification Form as it stands. `reader` None: the operator's command line."""
    case = _read(ctx, reference, reader, can.NOTIFICATION_FORM)
    return render_notification_form(ctx, case)


def record_for_file(ctx: Context, reference: str, reader: PersonRef | None, side: str | None = None) -> Document:
    """The record of the case for one side's agency file: the reader's own side unless `side` says."""
    case = _read(ctx, reference, reader, can.RECORD_FOR_FILE)
    if side is None:
        side = (case.side_of(reader) if reader is not None else None) or RAISING
    if side not in (RAISING, RECEIVING):
        raise Refused("Choose the raising or the receiving side.", field="side")
    return render_record_for_file(ctx, case, side)


def send_document(ctx: Context, reference: str, reader: PersonRef, kind: str) -> CaseView:
    """`reader` asks for the case's notification form, or the record for their side's file, in their direct
    messages: checked and audited now (a refusal too), then sent through the outbox, once."""
    case = view_case(ctx, reference, reader, kind)
    side = case.side_of(reader) or RAISING
    with ctx.db.transaction() as session:
        session.add(
            OutboxMessage(
                escalation_id=case.id,
                topic=topics.DOCUMENT,
                audience=topics.PERSON,
                recipient_id=person_row(session, reader).id,
                payload={"kind": kind, "side": side, "occasion": ASKED, "stage": case.current_stage},
                created_at=ctx.clock.now(),
            )
        )
    return case


def document_for(ctx: Context, case: CaseView, kind: str, side: str = RAISING) -> Document:
    """For a sender delivering an outbox message about a document: the lifecycle chose who gets it."""
    if kind == can.NOTIFICATION_FORM:
        return render_notification_form(ctx, case)
    if kind == can.RECORD_FOR_FILE:
        return render_record_for_file(ctx, case, side)
    raise ValueError(f"no document {kind!r}")


def sent_words(ctx: Context, case: CaseView, document: Document, payload: dict) -> tuple[str, str]:
    """How a document sent for an outbox message is named and introduced: (its title, a line above it). The title
    says the occasion, so each file sent about a case is told apart (in a conversation, and by Slack's look-up
    after a crash)."""
    occasion, stage = payload.get("occasion", ASKED), payload.get("stage", case.current_stage)
    today = long_date(case.policy.working_calendar.local_date(ctx.clock.now()))
    form = document.kind == can.NOTIFICATION_FORM
    what = (
        f"The Escalation Notification Form for {case.reference}"
        if form
        else f"The record of {case.reference} for {_agency(case, payload.get('side', RAISING))}'s file"
    )
    if occasion == STAGE:
        return f"{document.title}, at Stage {stage}", f"{what}, as it stands now the case is at Stage {stage}."
    if occasion == CLOSURE:
        line = f"{what}: the case is closed ({_status(case).lower()})."
        return f"{document.title}, at closure", line + ("" if form else " Please add it to your agency's file.")
    return f"{document.title}, as at {today}", f"{what}, as it stands today ({today}), as you asked."


def not_attached(case: CaseView, document: dict, to_person: bool) -> tuple[str, str]:
    """When a platform refuses for good the document a notice carries (flows.escalations._document), and its
    words go alone: (what failed, for the partnership team's notice; the line its reader gets instead)."""
    if document["kind"] == can.NOTIFICATION_FORM:
        what = "The Escalation Notification Form"
    else:
        what = f"The record of the case for {_agency(case, document.get('side', RAISING))}'s file"
    if to_person:
        ask = case.policy.partnership_email or "the partnership team"
        return what, f"{what} could not be attached here: please ask {case.policy.partnership} ({ask}) for a copy."
    command = f"escalation-bot form {case.reference} --out form.docx"
    return what, f"{what} could not be attached here: the operator writes it with {command}"


def _agency(case: CaseView, side: str) -> str:
    return case.other_agency if side == RECEIVING else case.raiser_agency


def _read(ctx: Context, reference: str, reader: PersonRef | None, action: str) -> CaseView:
    return operator_view(ctx, reference, action) if reader is None else view_case(ctx, reference, reader, action)


# ---------------------------------------------------------------- rendering


def render(template: str, context: dict[str, Any]) -> bytes:
    from docxtpl import DocxTemplate  # here, not at start-up: it and python-docx, lxml and jinja2 take 0.1 s

    document = DocxTemplate(resources.files("flows").joinpath("templates", template))
    document.render(_clean(context), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def render_notification_form(ctx: Context, case: CaseView) -> Document:
    fields = notification_form_fields(ctx, case, ctx.clock.now())
    return Document(
        can.NOTIFICATION_FORM,
        case.reference,
        f"{case.reference}-notification-form.docx",
        f"{case.policy.partnership} Escalation Notification Form, {case.reference}",
        render("notification_form.docx", fields),
    )


def render_record_for_file(ctx: Context, case: CaseView, side: str) -> Document:
    fields = record_fields(case, side, ctx.clock.now())
    return Document(
        can.RECORD_FOR_FILE,
        case.reference,
        f"{case.reference}-record-{side}.docx",
        f"Escalation record for {fields['agency']}'s file, {case.reference}",
        render("record_for_file.docx", fields),
    )


# ---------------------------------------------------------------- the form's fields, from the record


def _date(moment: datetime | None, case: CaseView) -> str:
    return long_date(case.policy.working_calendar.local_date(moment)) if moment else ""


def _people(people) -> str:
    return "; ".join(named(p) for p in people)


def _status(case: CaseView) -> str:
    words = {
        CaseStatus.OPEN: f"Open at Stage {case.current_stage}",
        CaseStatus.RESOLVED: f"Resolved at Stage {case.current_stage}",
        CaseStatus.CLOSED: f"Closed at Stage {case.current_stage}",
        CaseStatus.WITHDRAWN: f"Withdrawn at Stage {case.current_stage}",
    }
    return words.get(case.status, case.status)


def _completing(ctx: Context, case: CaseView) -> dict[str, str]:
    """Whoever answered the form's questions last: the person who ended the latest formal stage below the
    Executive's; before any did, the raising side's holder now."""
    policy = case.policy
    ended = [s for s in case.stages if s.formal and s.ended_by and not policy.executive_holds(s.number)]
    if ended:
        person = ended[-1].ended_by
    else:
        person = next(iter(case.acting_holders(RAISING)), case.raiser)
    role, _ = remembered_role_and_agency(ctx, person)
    if person.key == case.raiser.key:
        role = case.raiser_role
    side = case.side_of(person)
    if not role:
        held = [s for s in case.stages if person.key in {p.key for p in s.side(side or RAISING)}]
        role = f"Stage {held[-1].number} holder ({held[-1].held_by})" if held else ""
    return dict(
        name=person.name,
        role=role,
        agency=case.other_agency if side == RECEIVING else case.raiser_agency,
        email=person.email,
        date=long_date(policy.working_calendar.local_date(ctx.clock.now())),
    )


def _resolved_words(case: CaseView, stage: StageView, now: datetime) -> str:
    if stage.ended_how in ("resolved", "executive_decision"):
        return "Yes"
    if stage.ended_how == "escalated":
        return f"No: escalated to Stage {stage.number + 1}"
    if stage.ended_how == "withdrawn":
        return f"Withdrawn: {case.withdrawal_reason}" if case.withdrawal_reason else "Withdrawn"
    due = case.deadline_status(now)
    return f"Not yet: open, {'was ' if due.overdue else ''}due {long_date(due.due_on)}"


def _consultation(case: CaseView, stage: StageView) -> str:
    parts = []
    if stage.reflective_consultation_requested_at:
        parts.append(f"Requested {_date(stage.reflective_consultation_requested_at, case)}")
    if stage.consultation_arranged_for:
        parts.append(f"arranged for {long_date(stage.consultation_arranged_for)}")
    if stage.consultation_held_on:
        parts.append(f"held on {long_date(stage.consultation_held_on)}")
    words = "; ".join(parts) or "Not requested"
    return f"{words}. Actions: {stage.consultation_actions}" if stage.consultation_actions else words


def _holders_words(case: CaseView, stage: StageView) -> str:
    if stage.executive:
        return f"{case.policy.executive_name}: {_people(stage.executive)}"
    raising, receiving = _people(stage.raising) or "awaited", _people(stage.receiving) or "awaited"
    return f"Raising side: {raising}. Receiving side: {receiving}"


def _stage_fields(case: CaseView, number: int, now: datetime) -> dict[str, str]:
    rule = case.policy.stage(number)
    stage = next((s for s in case.stages if s.number == number), None)
    empty = dict.fromkeys(
        ("holders", "started", "concerns", "request", "outcome", "decision", "key_learning", "date", "consultation"),
        "",
    )
    if stage is None:
        return {**empty, "name": rule.name, "resolved": "Not reached"}
    earlier = next((s for s in case.stages if s.number == number - 1), None)
    executive = case.policy.executive_holds(number)
    return dict(
        name=rule.name,
        holders=_holders_words(case, stage),
        started=_date(stage.started_at, case),
        # At the Executive's stage the concerns are those the last stage brought, with the request to them.
        concerns=(earlier.concerns if earlier else "") if executive else stage.concerns,
        request=stage.escalation_reason if executive else "",
        resolved=_resolved_words(case, stage, now),
        outcome=OUTCOME_KINDS.get(stage.outcome_kind, ""),
        decision=stage.decision_outcome,
        key_learning=stage.key_learning,
        date=long_date(stage.outcome_date) if stage.outcome_date else "",
        consultation=_consultation(case, stage),
    )


def notification_form_fields(ctx: Context, case: CaseView, now: datetime) -> dict[str, Any]:
    """Every field of the form, by the name its template uses."""
    erased = case.erased_at is not None
    return dict(
        partnership=case.policy.partnership,
        partnership_email=case.policy.partnership_email,
        reference=case.reference,
        status=_status(case),
        stage_reached=f"Stage {case.current_stage}: {case.stage.name}",
        as_at=_date(now, case),
        completing=_completing(ctx, case),
        child=dict(
            initials=ERASED if erased else case.child_initials,
            case_reference=ERASED if erased else case.child_case_reference,
            age_band=case.age_band,
            gender=case.gender,
            ethnicity=case.ethnicity,
            send=case.send,
            level_of_need=case.level_of_need,
        ),
        raising_agency=case.raiser_agency,
        receiving_agency=case.other_agency,
        professionals=_people(case.professionals),
        themes="; ".join(case.themes),
        outcome_wanted=case.outcome_wanted,
        concerns=dict(
            key_dates=case.key_dates,
            evidence_of_need=case.evidence_of_need,
            disagreement=case.decision_disagreed,
            interventions=case.interventions_to_date,
        ),
        **{f"stage{s.number}": _stage_fields(case, s.number, now) for s in case.policy.stages},
    )


# ---------------------------------------------------------------- the record for an agency's file


def _side_words(stage: StageView, side: str) -> str:
    current = _people(stage.side(side))
    former = [p for s, p in stage.former if s == side]
    if former:
        current = "; ".join(filter(None, [current, f"earlier {_people(former)} (handed over)"]))
    return current


def record_fields(case: CaseView, side: str, now: datetime) -> dict[str, Any]:
    erased = case.erased_at is not None
    last = case.stage
    withdrawn = case.status == CaseStatus.WITHDRAWN
    if case.is_open:
        outcome = dict(kind="Open", decision="", key_learning="", date="")
    else:
        outcome = dict(
            kind="Withdrawn" if withdrawn else OUTCOME_KINDS.get(last.outcome_kind, ""),
            decision=case.withdrawal_reason if withdrawn else last.decision_outcome,
            key_learning=last.key_learning,
            date=long_date(last.outcome_date) if last.outcome_date else _date(case.closed_at, case),
        )
    due = case.deadline_status(now)
    return dict(
        reference=case.reference,
        agency_case_reference=(
            (ERASED if erased else case.child_case_reference)
            if side == RAISING
            else "Not held by the bot (it holds the raising agency's only): add your own"
        ),
        child_initials=ERASED if erased else case.child_initials,
        agency=case.raiser_agency if side == RAISING else case.other_agency,
        side=SIDE_WORDS[side],
        other_agency=case.other_agency if side == RAISING else case.raiser_agency,
        level_of_need=case.level_of_need,
        opened=_date(case.opened_at, case),
        closed=_date(case.closed_at, case) or "Still open",
        status=_status(case),
        stages=[
            dict(
                title=f"Stage {s.number}: {s.name}"
                + (f" (held by {case.policy.executive_name}: {_people(s.executive)})" if s.executive else ""),
                started=_date(s.started_at, case),
                ended=_date(s.ended_at, case) or f"Open, due {long_date(due.due_on)}",
                raising=_side_words(s, RAISING),
                receiving=_side_words(s, RECEIVING),
                how=ENDED_WORDS.get(s.ended_how, "Open"),
            )
            for s in case.stages
        ],
        notes=[
            dict(
                date=_date(n.created_at, case),
                stage=f"Stage {n.stage_number}",
                who=named(n.author),
                kind=NOTE_WORDS.get(n.kind, n.kind),
                text=n.text,
            )
            for n in case.notes
        ],
        outcome=outcome,
        actions=[dict(what=a.what, who=named(a.owner), due=long_date(a.due_on)) for a in case.actions],
    )
