"""What a case card says, once, for every front-end to draw: a title, facts as label/value pairs, sections of
longer words, the deadline, and the actions this reader may take (id, label, style).

Words are plain text. A value is a sequence of pieces, each a string or a person, so that each platform draws
people its own way (a mention where the person is on it, a name and address otherwise); nothing here is markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows import permissions as can
from flows.context import Context
from flows.escalations import CORRECTABLE, NOTE_WORDS, OUTCOME_KINDS, actions_with, roles_on
from flows.forms import stage_title
from flows.notices import due_when, long_date, stage_record
from flows.people import PersonRef
from flows.permissions import RAISING, RECEIVING
from flows.records import CaseStatus, CaseView, DeadlineStatus, HistoryEntry, StageView

Piece = str | PersonRef
Words = tuple[Piece, ...]

# Each action's label and style ("primary", "danger" or ""), as a button shows it.
ACTION_LABELS = {
    can.NOTE: ("Add note", ""),
    can.RESOLVE: ("Resolved", "primary"),
    can.PROPOSE_RESOLUTION: ("Propose a resolution", "primary"),
    can.ANSWER_PROPOSAL: ("Answer the proposal", "primary"),
    can.ESCALATE: ("Escalate to Stage {next}", ""),
    can.ASK_TO_ESCALATE: ("Ask them to escalate", ""),
    can.NAME_HOLDER: ("Name the Stage {stage} holder", "primary"),
    can.REQUEST_CONSULTATION: ("Request reflective consultation", ""),
    can.RECORD_CONSULTATION: ("Record consultation", ""),
    can.EXECUTIVE_DECISION: ("Record the decision", "primary"),
    can.CHASE: ("Chase a holder", ""),
    can.HAND_OVER: ("Hand over", ""),
    can.WITHDRAW: ("Withdraw", "danger"),
    can.CORRECT_DETAILS: ("Correct details", ""),
    can.DETAILS: ("Details", ""),
    can.NOTIFICATION_FORM: ("Notification form", ""),
    can.RECORD_FOR_FILE: ("Record for our file", ""),
}
# Not an action on the case: the reader's own view of its history, offered beside Details.
HISTORY = "history"


@dataclass(frozen=True)
class CardAction:
    id: str
    label: str
    style: str


@dataclass(frozen=True)
class Deadline:
    words: str
    overdue: bool


@dataclass(frozen=True)
class Card:
    reference: str
    version: int | None  # None: no action on this copy acts on the case as the reader saw it
    title: str
    # A short line for notifications and screen readers.
    summary: str
    facts: tuple[tuple[str, Words], ...]
    sections: tuple[tuple[str, Words], ...]
    deadline: Deadline | None
    actions: tuple[CardAction, ...]
    # A settled copy (see reader_card): only what stays the same as the case moves.
    settled: bool = False


def card_actions(case: CaseView, actions: list[str]) -> tuple[CardAction, ...]:
    found = []
    for action in actions:
        label, style = ACTION_LABELS[action]
        found.append(CardAction(action, label.format(next=case.current_stage + 1, stage=case.current_stage), style))
        if action == can.DETAILS:
            found.append(CardAction(HISTORY, "History", ""))
    return tuple(found)


def deadline(case: CaseView, now: datetime) -> Deadline | None:
    """With working days left or over: only for what is redrawn each working day (cards, posts)."""
    if not case.is_open:
        return None
    status = case.deadline_status(now)
    return Deadline(working_days_words(status, case), status.overdue)


def working_days_words(status: DeadlineStatus, case: CaseView) -> str:
    when = due_when(case.policy, status)
    if status.overdue:
        over = status.working_days_over
        if over == 0:
            return f"Overdue since {when}"
        return f"Overdue by {over} working day{'s' if over != 1 else ''} (was due {when})"
    left = status.working_days_left
    if left == 0:
        return f"Due today, {when}"
    return f"Due {when} ({left} working day{'s' if left != 1 else ''} left)"


def status_words(case: CaseView) -> str:
    if case.is_open:
        return "Open" + (" (formal)" if case.policy.stage(case.current_stage).formal else " (informal)")
    last = case.stage
    if case.status == CaseStatus.WITHDRAWN:
        return f"Withdrawn at Stage {last.number}"
    if last.ended_how == "executive_decision":
        return f"Decided at Stage {last.number}: {OUTCOME_KINDS.get(last.outcome_kind, '')}"
    return f"Resolved at Stage {last.number}: {OUTCOME_KINDS.get(last.outcome_kind, '')}"


def people(persons) -> Words:
    """People separated by commas; "nobody named" when there are none."""
    found: list[Piece] = []
    for person in persons:
        found += [", ", person] if found else [person]
    return tuple(found) or ("nobody named",)


def holders_words(case: CaseView) -> Words:
    """Who holds the stage on each side, and who is awaited (and asked meanwhile)."""
    if case.stage.executive:
        name = case.policy.executive_name
        return (f"{name[:1].upper()}{name[1:]}: ", *people(case.stage.executive))
    lines: list[Piece] = []
    for side, agency in ((RAISING, case.raiser_agency), (RECEIVING, case.other_agency)):
        named = case.stage.side(side)
        if named:
            line: Words = (f"{agency}: ", *people(named))
        elif case.is_open:
            line = (f"{agency}: awaited (asked: ", *people(case.acting_holders(side)), ")")
        else:
            continue
        lines += ["\n", *line] if lines else list(line)
    return tuple(lines)


def outcome_by_words(stage: StageView) -> Words:
    """The names an outcome carries: who recorded it, and the other side's people."""
    if stage.ended_by is None:
        return ()
    words: Words = ("Recorded by ", stage.ended_by)
    if stage.agreed_with:
        words += (", agreed with ", *people(stage.agreed_with))
    return words + (".",)


def actions_words(case: CaseView) -> Words:
    lines: list[Piece] = []
    for action in case.actions:
        line = (f"• {action.what}: ", action.owner, f", by {long_date(action.due_on)}")
        lines += ["\n", *line] if lines else list(line)
    return tuple(lines)


def _child(case: CaseView) -> str:
    if case.erased_at is not None:
        return "Erased under the retention rule"
    return f"{case.child_initials} · {case.raiser_agency} ref {case.child_case_reference}"


def case_card(case: CaseView, now: datetime, actions: list[str]) -> Card:
    """The case card, with the actions of the reader whose copy it is."""
    facts = (
        ("Child", (_child(case),)),
        ("Level of need", (case.level_of_need,)),
        ("Raised by", (case.raiser, f", {case.raiser_role}, {case.raiser_agency}")),
        ("With", (case.other_agency, *((": ", *people(case.professionals)) if case.professionals else ()))),
        (f"Holds Stage {case.current_stage}", holders_words(case)),
        ("Status", (status_words(case),)),
    )
    sections: list[tuple[str, Words]] = [
        ("Disagreement", (case.decision_disagreed,)),
        ("Themes", (", ".join(case.themes),)),
    ]
    proposal = case.pending_proposal
    if proposal is not None:
        kind = OUTCOME_KINDS.get(proposal.outcome.get("outcome_kind", ""), "")
        sections.append(
            (
                "Resolution proposed",
                (
                    "By ",
                    proposal.proposed_by,
                    f": {kind}. {proposal.outcome.get('decision_outcome', '')}\nWaiting for the raising side's answer.",
                ),
            )
        )
    if not case.is_open:
        closing = case.stage
        summary = case.withdrawal_reason if case.status == CaseStatus.WITHDRAWN else closing.decision_outcome
        sections.append((status_words(case), (summary, "\n", *outcome_by_words(closing))))
        if case.actions:
            sections.append(("Agreed actions", actions_words(case)))
    return Card(
        reference=case.reference,
        version=case.version,
        title=f"{case.reference} · {stage_title(case)}",
        summary=f"{case.reference}: {stage_title(case)} ({status_words(case).lower()})",
        facts=facts,
        sections=tuple(sections),
        deadline=deadline(case, now),
        actions=card_actions(case, actions),
    )


# Roles that act on the case at its current stage (or, once it is closed, held its last).
HOLDING_ROLES = frozenset({can.RAISING_HOLDER, can.RECEIVING_HOLDER, can.EXECUTIVE, can.PARTNERSHIP_TEAM})
# What a settled copy offers: the same whatever stage the case has reached, and once it has closed.
SETTLED_ACTIONS = (can.NOTE, can.CORRECT_DETAILS, can.DETAILS, can.RECORD_FOR_FILE)


def reader_card(ctx: Context, case: CaseView, reader: PersonRef, now: datetime) -> Card:
    """`reader`'s own copy of the card, as it is posted and redrawn. Someone on the case who holds no part of it
    now (the raiser once it has moved on, an earlier holder) has a settled copy: it is not redrawn each time the
    case moves, nor when it closes (they are told how it ended), and Details shows where it stands. The copies of
    those who hold it (or held its last stage) are kept current."""
    roles = roles_on(ctx, case, reader)
    if roles and not roles & HOLDING_ROLES:
        return settled_card(case, reader, [a for a in SETTLED_ACTIONS if can.permitted(case, a, roles)])
    return case_card(case, now, actions_with(case, roles, documents=True))


def settled_card(case: CaseView, reader: PersonRef, actions: list[str]) -> Card:
    """A copy for someone who holds no part of the case now: its facts that stay, the stage they held, and their
    actions; no stage, deadline or version, which change as the case moves."""
    held = [
        stage
        for stage in case.stages
        if reader.key in {p.key for p in (*stage.holders, *(former for _, former in stage.former))}
    ]
    raised = "You raised it" if reader.key == case.raiser.key else ""
    if held:
        did = f"{raised} and held" if raised else "You held"
        part = f"{did} Stage {held[-1].number} ({held[-1].name}). The escalation has moved on: "
    else:
        part = f"{raised}. The escalation has moved on: " if raised else "The escalation has moved on: "
    part += "you are not asked to act on it now. You will be told how it ends. Details shows where it stands."
    return Card(
        reference=case.reference,
        version=None,
        title=case.reference,
        summary=f"{case.reference}: moved on from where you held it",
        facts=(
            ("Child", (_child(case),)),
            ("Level of need", (case.level_of_need,)),
            ("Raised by", (case.raiser, f", {case.raiser_role}, {case.raiser_agency}")),
            ("With", (case.other_agency,)),
        ),
        sections=(("Your part", (part,)), ("Disagreement", (case.decision_disagreed,))),
        deadline=None,
        actions=card_actions(case, actions),
        settled=True,
    )


def consultation_words(stage: StageView) -> str:
    if stage.consultation_held_on:
        return f"held {long_date(stage.consultation_held_on)}. Agreed actions: {stage.consultation_actions}"
    if stage.consultation_arranged_for:
        return f"arranged for {long_date(stage.consultation_arranged_for)}."
    if stage.reflective_consultation_requested_at:
        return "requested."
    return "not requested."


def partnership_card(case: CaseView, now: datetime, actions: list[str]) -> Card:
    """The Escalation Notification Form's summary for the partnership team, with its actions. Never a name of
    the child: initials are not shown here either."""
    calendar = case.policy.working_calendar
    facts = (
        ("Stage", (stage_title(case),)),
        ("Status", (status_words(case),)),
        ("Raised by", (case.raiser, f", {case.raiser_role}, {case.raiser_agency}")),
        ("Disagreement with", (case.other_agency,)),
        ("Level of need", (case.level_of_need,)),
        ("Theme", (", ".join(case.themes),)),
        (f"Holds Stage {case.current_stage}", holders_words(case)),
        ("Raised on", (long_date(calendar.local_date(case.opened_at)),)),
    )
    sections = [
        ("Key dates", (case.key_dates,)),
        ("Evidence of need", (case.evidence_of_need,)),
        ("Decision or action disagreed with", (case.decision_disagreed,)),
        ("Interventions to date", (case.interventions_to_date,)),
    ]
    if case.policy.reflective_consultation_at(case.current_stage):
        sections.append(("Reflective group consultation", (consultation_words(case.stage),)))
    return Card(
        reference=case.reference,
        version=case.version,
        title=f"Escalation notification: {case.reference}",
        summary=f"Escalation notification {case.reference}: {stage_title(case)}",
        facts=facts,
        sections=tuple(sections),
        deadline=deadline(case, now),
        actions=card_actions(case, actions),
    )


def case_line(case: CaseView, now: datetime) -> tuple[str, Words]:
    """A case in a list (My cases, App Home): its heading, then where it stands."""
    if not case.is_open:
        closed = long_date(case.policy.working_calendar.local_date(case.closed_at)) if case.closed_at else ""
        return f"{case.reference} · {status_words(case)} · {case.other_agency}", (f"Closed {closed}",)
    return (
        f"{case.reference} · {stage_title(case)} · {case.other_agency}",
        (deadline(case, now).words, " · held by ", *people(case.stage.holders)),
    )


HISTORY_WORDS = {
    "opened": "raised the escalation",
    "note_added": "added a note",
    can.NOTE: "added a note",
    can.ESCALATE: "escalated it",
    can.RESOLVE: "recorded it as resolved",
    can.PROPOSE_RESOLUTION: "proposed a resolution",
    can.ANSWER_PROPOSAL: "answered the proposed resolution",
    can.ASK_TO_ESCALATE: "asked the raising side to escalate",
    can.NAME_HOLDER: "named a holder for the stage",
    can.HAND_OVER: "handed a holder's role over",
    can.CHASE: "chased a stage holder",
    can.WITHDRAW: "withdrew it",
    can.EXECUTIVE_DECISION: "recorded the decision",
    can.REQUEST_CONSULTATION: "requested a reflective group consultation",
    can.RECORD_CONSULTATION: "recorded the reflective group consultation",
    "corrected": "corrected a detail",
    "refused": "tried an action they may not take",
}


def history_lines(case: CaseView, entries: list[HistoryEntry]) -> list[Words]:
    """The case's History, one line per event: when, who, what."""
    calendar = case.policy.working_calendar
    lines = []
    for entry in entries:
        when = calendar.local(entry.at).strftime("%d %b %Y %H:%M")
        extra = ""
        if entry.action == can.ESCALATE:
            extra = f" (Stage {entry.detail.get('from_stage')} → {entry.detail.get('to_stage')})"
        if entry.action == "corrected":
            extra = f" ({CORRECTABLE.get(entry.detail.get('field', ''), 'a detail').lower()})"
        what = HISTORY_WORDS.get(entry.action, entry.action.replace("_", " "))
        lines.append((f"{when} · ", entry.who or "The bot", f" {what}{extra}"))
    return lines


def details(case: CaseView) -> tuple[Words, list[tuple[str, list[Words]]]]:
    """Everything the case holds, for Details: a line about the child, then headed parts (the concern as raised,
    each stage's record, agreed actions, proposals, notes), each a list of lines."""
    calendar = case.policy.working_calendar
    intro: Words = (f"{_child(case)} · {case.level_of_need}\nThemes: {', '.join(case.themes)}",)
    parts: list[tuple[str, list[Words]]] = [
        (label, [(value,)])
        for label, value in (
            ("Key dates", case.key_dates),
            ("Evidence of need", case.evidence_of_need),
            ("The decision or action disagreed with", case.decision_disagreed),
            ("Interventions to date", case.interventions_to_date),
            ("The outcome wanted", case.outcome_wanted),
        )
    ]
    for stage in case.stages:
        lines: list[Words] = [
            (
                f"Started {long_date(calendar.local_date(stage.started_at))}, due "
                f"{long_date(calendar.local_date(stage.due_at))}.",
            )
        ]
        for side, agency in ((RAISING, case.raiser_agency), (RECEIVING, case.other_agency)):
            if stage.side(side):
                lines.append((f"{agency}: ", *people(stage.side(side))))
        if stage.executive:
            lines.append((f"{case.policy.executive_name}: ", *people(stage.executive)))
        if stage.former:
            lines.append(("Handed over by: ", *people(p for _, p in stage.former)))
        if stage.escalation_reason:
            lines.append((f"Why it came to this stage: {stage.escalation_reason}",))
        if stage.reflective_consultation_requested_at:
            lines.append((f"Reflective group consultation: {consultation_words(stage)}",))
        if stage.ended_at:
            record = " ".join(f"{label}: {value}." for label, value in stage_record(stage))
            ended = f"Ended {long_date(calendar.local_date(stage.ended_at))} ({stage.ended_how.replace('_', ' ')}). "
            lines.append((ended + record + " ", *outcome_by_words(stage)))
        parts.append((f"Stage {stage.number}: {stage.name}", lines))
    if case.actions:
        parts.append(("Agreed actions", [actions_words(case)]))
    for proposal in case.proposals:
        declined = f"\nDeclined because: {proposal.decline_reason}" if proposal.decline_reason else ""
        parts.append(
            (
                "Proposed resolution",
                [
                    (
                        "By ",
                        proposal.proposed_by,
                        f" ({proposal.status}): {proposal.outcome.get('decision_outcome', '')}{declined}",
                    )
                ],
            )
        )
    notes: list[Words] = [
        (
            f"{NOTE_WORDS.get(n.kind, n.kind)}, Stage {n.stage_number}, "
            f"{calendar.local(n.created_at):%d %b %Y %H:%M}, ",
            n.author,
            f": {n.text}",
        )
        for n in case.notes
    ]
    parts.append(("Notes", notes or [("None yet.",)]))
    return intro, parts


def email_copies_choice(chosen: bool) -> tuple[str, CardAction]:
    """What a person's home view (or welcome card) says of their choice to have the bot's messages by e-mail
    as well, and the action that changes it."""
    if chosen:
        return (
            "You get what the bot sends you here by e-mail as well, at your work address.",
            CardAction("email_copies_off", "Stop the e-mails", ""),
        )
    return (
        "You can have what the bot sends you here by e-mail as well, at your work address.",
        CardAction("email_copies_on", "E-mail me as well", ""),
    )
