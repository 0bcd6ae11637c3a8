"""Every message and view the Slack front-end shows, built in one place with slack_sdk.models.

Built with the models so that Slack's limits are checked before anything is sent. Nothing here
reads the database: each builder is given what it shows.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Iterable

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.block_elements import EmailInputElement
from slack_sdk.models.views import View

from bot.slack import payloads
from flows.digest import Digest
from flows.escalations import NOTE_KINDS, OUTCOME_KINDS
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.policy import Policy
from flows.queries import HistoryEntry, MyCases
from flows.records import CaseView, DeadlineStatus

# Callback ids of the views, and action ids of the buttons: the listeners register on these.
GATE_VIEW = "escalate_gate"
FORM_VIEW = "escalate_form"
NOTE_VIEW, RESOLVE_VIEW, ESCALATE_VIEW = "case_note_view", "case_resolve_view", "case_escalate_view"
WITHDRAW_VIEW, DECISION_VIEW, CONSULTATION_VIEW = "case_withdraw_view", "case_decision_view", "case_consult_view"
CASE_ACTIONS = {
    "case_note": NOTE_VIEW,
    "case_resolve": RESOLVE_VIEW,
    "case_escalate": ESCALATE_VIEW,
    "case_withdraw": WITHDRAW_VIEW,
    "case_decision": DECISION_VIEW,
    "case_consultation": CONSULTATION_VIEW,
}
HISTORY_ACTION = "case_history"
RAISE_ACTION = "home_raise"

AGE_BANDS = ["Under 5", "5 to 10", "11 to 15", "16 to 17", "18 or over"]
GENDERS = ["Female", "Male", "Other", "Not known", "Prefer not to say"]
ETHNICITIES = ["Asian or Asian British", "Black, Black British, Caribbean or African", "Mixed or multiple ethnic groups",
               "White", "Other ethnic group", "Not known", "Prefer not to say"]
SEND_ANSWERS = ["Yes", "No", "Not known"]


# ------------------------------------------------------------------ small pieces


def _text(value: str, limit: int = 3000) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _md(value: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=_text(value, limit))


def _plain(value: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=_text(value, limit), emoji=True)


def _options(values: Iterable[str]) -> list[Option]:
    return [Option(text=_plain(v, 75), value=v) for v in values]


def _option(value: str) -> Option | None:
    return Option(text=_plain(value, 75), value=value) if value else None


def _json(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def who(person: PersonRef) -> str:
    """A person as Slack shows them: a mention in the workspace, otherwise name and email."""
    if person.platform == "slack":
        return f"<@{person.user_id}>"
    if person.platform == EMAIL_PLATFORM:
        return f"{person.name} ({person.email})"
    return person.name or person.email or person.user_id


def people(persons: Iterable[PersonRef]) -> str:
    return ", ".join(who(p) for p in persons) or "nobody named"


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def deadline_words(status: DeadlineStatus, policy: Policy) -> str:
    local = policy.working_calendar.local(status.due_at)
    hour = local.strftime("%I:%M%p").lstrip("0").replace(":00", "").lower()
    when = f"{long_date(status.due_on)}, {hour}"
    if status.overdue:
        over = status.working_days_over
        if over == 0:
            return f":warning: *Overdue* since {when}"
        return f":warning: *Overdue* by {over} working day{'s' if over != 1 else ''} (was due {when})"
    left = status.working_days_left
    if left == 0:
        return f"Due *today*, {when}"
    return f"Due {when} ({left} working day{'s' if left != 1 else ''} left)"


def stage_title(case: CaseView, number: int | None = None) -> str:
    number = number or case.current_stage
    stage = case.policy.stage(number)
    return f"Stage {number} of {case.stage_count}: {stage.name}"


def _status_words(case: CaseView) -> str:
    if case.status == "open":
        return "Open" + (" (formal)" if case.policy.stage(case.current_stage).formal else " (informal)")
    last = case.stage
    if case.status == "withdrawn":
        return f"Withdrawn at Stage {last.number}"
    return f"Resolved at Stage {last.number}: {OUTCOME_KINDS.get(last.outcome_kind, '')}"


def action_value(case: CaseView) -> str:
    # The version lets a stale or repeated click change nothing.
    return json.dumps({"r": case.reference, "v": case.version})


def read_action_value(value: str) -> tuple[str, int | None]:
    return payloads.read_action_value(value)  # never raises: ("", None) when it cannot be read


# ------------------------------------------------------------------ the case card


def case_card(case: CaseView, now: datetime) -> tuple[str, list[dict]]:
    """The card: same for every copy, so one update refreshes them all."""
    status = case.deadline_status(now)
    fields = [
        _md(f"*Child*\n{case.child_initials} · {case.raiser_agency} ref {case.child_case_reference}"),
        _md(f"*Level of need*\n{case.level_of_need}"),
        _md(f"*Raised by*\n{who(case.raiser)}, {case.raiser_role}, {case.raiser_agency}"),
        _md(f"*With*\n{case.other_agency}" + (f": {people(case.professionals)}" if case.professionals else "")),
        _md(f"*Held by*\n{people(case.stage.holders)}"),
        _md(f"*Status*\n{_status_words(case)}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=_plain(f"{case.reference} · {stage_title(case)}")),
        SectionBlock(fields=fields),
        SectionBlock(text=_md(f"*Disagreement:* {_text(case.decision_disagreed, 600)}\n"
                              f"*Themes:* {', '.join(case.themes)}")),
    ]
    if case.is_open:
        blocks.append(ContextBlock(elements=[_md(deadline_words(status, case.policy))]))
        blocks.append(ActionsBlock(block_id="case_actions", elements=_card_buttons(case)))
    else:
        closing = case.stage
        summary = case.withdrawal_reason if case.status == "withdrawn" else closing.decision_outcome
        blocks.append(SectionBlock(text=_md(f"*{_status_words(case)}*\n{_text(summary, 1500)}")))
        blocks.append(ActionsBlock(block_id="case_actions", elements=[
            ButtonElement(text=_plain("History"), action_id=HISTORY_ACTION, value=action_value(case))]))
    text = f"{case.reference}: {stage_title(case)} ({_status_words(case).lower()})"
    return text, _json(blocks)


def _card_buttons(case: CaseView) -> list[ButtonElement]:
    value = action_value(case)
    buttons = [ButtonElement(text=_plain("Add note"), action_id="case_note", value=value)]
    if case.is_final_stage:
        buttons.append(ButtonElement(text=_plain("Record the decision"), action_id="case_decision", value=value,
                                     style="primary"))
    else:
        buttons.append(ButtonElement(text=_plain("Resolved"), action_id="case_resolve", value=value,
                                     style="primary"))
        buttons.append(ButtonElement(text=_plain(f"Escalate to Stage {case.current_stage + 1}"),
                                     action_id="case_escalate", value=value))
    if case.policy.reflective_consultation_at(case.current_stage) and \
            case.stage.reflective_consultation_requested_at is None:
        buttons.append(ButtonElement(text=_plain("Request reflective consultation"),
                                     action_id="case_consultation", value=value))
    buttons.append(ButtonElement(text=_plain("Withdraw"), action_id="case_withdraw", value=value, style="danger"))
    buttons.append(ButtonElement(text=_plain("History"), action_id=HISTORY_ACTION, value=value))
    return buttons


# ------------------------------------------------------------------ direct messages


# Direct messages about these topics carry the case card, kept up to date in place.
CARD_TOPICS = {"escalation_opened", "invited_to_talk", "stage_started", "reminder"}


def card_message(case: CaseView, now: datetime, lead: str = "") -> tuple[str, list[dict]]:
    """The card, with the words that introduced it in this direct message above it."""
    card_text, card_blocks = case_card(case, now)
    if not lead:
        return card_text, card_blocks
    return lead, _json([SectionBlock(text=_md(lead)), DividerBlock()]) + card_blocks


def person_lead(topic: str, case: CaseView, payload: dict, now: datetime) -> str:
    """What a direct message about `topic` says to the person."""
    number = payload.get("stage", case.current_stage)
    stage = case.policy.stage(number)
    if topic == "escalation_opened":
        return (f"You raised *{case.reference}*. It is at *Stage 1*, where the practitioners involved talk "
                f"directly. Record each discussion with *Add note*; the deadline is on the card.")
    if topic == "invited_to_talk":
        return (f"{who(case.raiser)} ({case.raiser_role}, {case.raiser_agency}) disagrees with a decision or "
                f"action of {case.other_agency} and has raised *{case.reference}* under the "
                f"{case.policy.partnership} Escalation and Resolution policy. The first step is a conversation: "
                "please get in touch with them to understand each other's view. Most disagreements are resolved "
                "this way.")
    if topic == "stage_started":
        reason = next((s.escalation_reason for s in case.stages if s.number == number), "")
        return (f"You now hold *Stage {number} ({stage.name})* of *{case.reference}*, raised by {who(case.raiser)}. "
                f"Why it was escalated: {_text(reason, 500)}")
    if topic == "reminder":
        return reminder_lead(case, payload, now)
    last = case.stage
    if topic in ("escalation_resolved", "executive_decision"):
        return (f"*{case.reference}* was resolved at Stage {last.number}. {OUTCOME_KINDS.get(last.outcome_kind, '')}: "
                f"{_text(last.decision_outcome, 1000)}\n*Key learning:* {_text(last.key_learning, 1000)}\n"
                "Please record the outcome on the child's record in your agency.")
    if topic == "escalation_withdrawn":
        return f"*{case.reference}* was withdrawn at Stage {last.number}: {_text(case.withdrawal_reason, 1000)}"
    raise ValueError(f"no direct message for {topic}")


def reminder_lead(case: CaseView, payload: dict, now: datetime) -> str:
    stage = next(s for s in case.stages if s.number == payload.get("stage", case.current_stage))
    status = DeadlineStatus.of(case.policy, stage.due_at, now)
    title = f"Stage {stage.number} ({stage.name}) of *{case.reference}*"
    if payload.get("kind") == "overdue":
        return (f":warning: {title} is past its deadline. {deadline_words(status, case.policy)}. "
                "Please record the outcome with *Resolved*, or *Escalate* it to the next stage, now.")
    return (f":alarm_clock: Reminder: {title}. {deadline_words(status, case.policy)}. "
            "Record where things are with *Add note*, then *Resolved* or *Escalate*.")


def _stage_deadline_line(case: CaseView, now: datetime) -> str:
    return deadline_words(case.deadline_status(now), case.policy) + "."


# ------------------------------------------------------------------ the partnership channel


def partnership_post(case: CaseView, now: datetime) -> tuple[str, list[dict]]:
    """The Escalation Notification Form summary for the partnership team. Never a child's name."""
    policy = case.policy
    rows = [
        HeaderBlock(text=_plain(f"Escalation notification: {case.reference}")),
        SectionBlock(fields=[
            _md(f"*Stage*\n{stage_title(case)}"),
            _md(f"*Status*\n{_status_words(case)}"),
            _md(f"*Raised by*\n{who(case.raiser)}, {case.raiser_role}, {case.raiser_agency}"),
            _md(f"*Disagreement with*\n{case.other_agency}"),
            _md(f"*Level of need*\n{case.level_of_need}"),
            _md(f"*Theme*\n{', '.join(case.themes)}"),
            _md(f"*Held by*\n{people(case.stage.holders)}"),
            _md(f"*Raised on*\n{long_date(policy.working_calendar.local_date(case.opened_at))}"),
        ]),
        SectionBlock(text=_md(f"*Key dates*\n{_text(case.key_dates, 2900)}")),
        SectionBlock(text=_md(f"*Evidence of need*\n{_text(case.evidence_of_need, 2900)}")),
        SectionBlock(text=_md(f"*Decision or action disagreed with*\n{_text(case.decision_disagreed, 2900)}")),
        SectionBlock(text=_md(f"*Interventions to date*\n{_text(case.interventions_to_date, 2900)}")),
    ]
    if case.is_open:
        rows.append(ContextBlock(elements=[_md(deadline_words(case.deadline_status(now), policy))]))
    text = f"Escalation notification {case.reference}: {stage_title(case)}"
    return text, _json(rows)


def partnership_reply(topic: str, case: CaseView, payload: dict, now: datetime) -> str:
    number = payload.get("stage", case.current_stage)
    if topic == "stage_started":
        calendar = case.policy.working_calendar
        stage = next(s for s in case.stages if s.number == number)
        text = (f"*Stage {number} ({stage.name}) started* {long_date(calendar.local_date(stage.started_at))}. "
                f"Held by {people(stage.holders)}. Due {long_date(calendar.local_date(stage.due_at))}."
                + (f"\nWhy: {_text(stage.escalation_reason, 1200)}" if stage.escalation_reason else ""))
        previous = next((s for s in case.stages if s.number == number - 1), None)
        # The notification form asks, for each stage, whether it was resolved and what was learnt.
        if previous and (previous.decision_outcome or previous.key_learning):
            text += (f"\n_Stage {previous.number} was not resolved._"
                     + (f" Decision or outcome so far: {_text(previous.decision_outcome, 600)}"
                        if previous.decision_outcome else "")
                     + (f" Key learning: {_text(previous.key_learning, 600)}" if previous.key_learning else ""))
        return text
    if topic in ("escalation_resolved", "executive_decision"):
        last = case.stage
        return (f"*Resolved at Stage {last.number}.* {OUTCOME_KINDS.get(last.outcome_kind, '')}.\n"
                f"*Decision / outcome:* {_text(last.decision_outcome, 1200)}\n"
                f"*Key learning:* {_text(last.key_learning, 1200)}")
    if topic == "escalation_withdrawn":
        return f"*Withdrawn at Stage {case.stage.number}.* {_text(case.withdrawal_reason, 1500)}"
    if topic == "stage_overdue":
        stage = next(s for s in case.stages if s.number == number)
        return (f":warning: *Stage {number} ({stage.name}) is overdue.* It was due "
                f"{long_date(case.policy.working_calendar.local_date(stage.due_at))}; held by {people(stage.holders)}.")
    if topic == "reflective_consultation_requested":
        note = payload.get("note") or ""
        return ("*A multi-agency reflective group consultation is requested* for this case. "
                f"The {case.policy.partnership} Manager arranges it with the Children's Social Care Systemic Lead."
                + (f"\n{_text(note, 1500)}" if note else ""))
    raise ValueError(f"no partnership reply for {topic}")


def digest_message(digest: Digest) -> tuple[str, list[dict]]:
    """The weekly digest for the partnership channel."""
    def lines(items, over: bool) -> str:
        return "\n".join(
            f"• *{i.reference}* Stage {i.stage} ({i.stage_name}), {i.raiser_agency} → {i.other_agency}: due "
            f"{long_date(date.fromisoformat(i.due_on))}, {i.working_days} working day"
            f"{'s' if i.working_days != 1 else ''} {'over' if over else 'left'}" for i in items[:25]) or "None."

    def counts(items) -> str:
        return "\n".join(f"• {name}: {count}" for name, count in items[:15]) or "None."

    closed = "\n".join(
        f"• *{c.reference}* at Stage {c.stage}: {c.outcome}" + (f"\n   _Key learning:_ {_text(c.key_learning, 300)}"
                                                             if c.key_learning else "")
        for c in digest.closed[:15]) or "None."
    stages = "\n".join(f"• Stage {n} ({name}): {count}" for n, name, count in digest.open_by_stage) or "None."
    blocks = [
        HeaderBlock(text=_plain(f"Weekly escalations digest: week of {long_date(date.fromisoformat(digest.week_of))}")),
        SectionBlock(text=_md(f"*Open, by stage*\n{stages}")),
        SectionBlock(text=_md(f"*Overdue stages*\n{lines(digest.overdue, True)}", 2900)),
        SectionBlock(text=_md(f"*Due this week*\n{lines(digest.due_this_week, False)}", 2900)),
        SectionBlock(text=_md(f"*Closed since the last digest*\n{closed}", 2900)),
        SectionBlock(fields=[_md(f"*By theme*\n{counts(digest.by_theme)}", 2000),
                             _md(f"*By agency raising*\n{counts(digest.by_agency_raising)}", 2000),
                             _md(f"*By agency receiving*\n{counts(digest.by_agency_receiving)}", 2000)]),
    ]
    return f"Weekly escalations digest, week of {digest.week_of}", _json(blocks)


def delivery_failed_text(reference: str, topic: str, error: str) -> str:
    return (f":warning: A message from the escalation bot could not be delivered and needs a person to follow it "
            f"up: {reference or 'no case'}, {topic.replace('_', ' ')} ({_text(error, 200)}).")


# ------------------------------------------------------------------ modals


def _modal(callback_id: str, title: str, blocks: list[Block], submit: str | None = "Submit",
           private_metadata: str = "", close: str = "Cancel") -> dict:
    view = View(
        type="modal",
        callback_id=callback_id,
        title=_plain(title, 24),
        submit=_plain(submit, 24) if submit else None,
        close=_plain(close, 24),
        blocks=blocks,
        private_metadata=private_metadata,
    )
    view.validate_json()
    return view.to_dict()


def _yes_no(block_id: str, label: str, hint: str = "") -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=_plain(label, 2000),
        hint=_plain(hint, 2000) if hint else None,
        element=RadioButtonsElement(action_id=block_id, options=[
            Option(text=_plain("Yes"), value="yes"), Option(text=_plain("No"), value="no")]),
    )


def gate_modal(policy: Policy) -> dict:
    blocks = [
        SectionBlock(text=_md(
            "The escalation policy is for a professional disagreement with another agency's decision or action "
            "about a child. It is not a complaints procedure.")),
        _yes_no("immediate_risk", "Is a child at immediate risk of harm?",
                "If yes, act now: do not wait for this process."),
        _yes_no("discussed_with_manager",
                "Have you discussed your concern with your line manager or safeguarding lead?"),
    ]
    return _modal(GATE_VIEW, "Raise an escalation", blocks, submit="Next")


def notice_modal(title: str, text: str) -> dict:
    return _modal("notice", title, [SectionBlock(text=_md(text))], submit=None, close="Close")


def immediate_risk_modal(policy: Policy) -> dict:
    # Slack's bold does not span lines, so the guidance goes as it is written in the policy file.
    return notice_modal("Act now", f"{policy.immediate_risk.guidance}\n\nNothing has been saved.")


def discuss_first_modal() -> dict:
    return notice_modal(
        "Talk it through first",
        "Before an escalation starts, talk your concern through with your line manager or safeguarding lead. "
        "If the concern is still there after that, type `/escalate` again. Nothing has been saved.")


def _input(block_id: str, label: str, element, optional: bool = False, hint: str = "") -> InputBlock:
    return InputBlock(block_id=block_id, label=_plain(label, 2000), element=element, optional=optional,
                      hint=_plain(hint, 2000) if hint else None)


def _text_input(block_id: str, label: str, *, multiline: bool = False, optional: bool = False, hint: str = "",
                initial: str = "", max_length: int = 3000, placeholder: str = "") -> InputBlock:
    element = PlainTextInputElement(action_id=block_id, multiline=multiline, max_length=max_length,
                                    initial_value=initial or None,
                                    placeholder=_plain(placeholder) if placeholder else None)
    return _input(block_id, label, element, optional, hint)


def _select(block_id: str, label: str, values: list[str], *, initial: str = "", optional: bool = False,
            hint: str = "") -> InputBlock:
    element = StaticSelectElement(action_id=block_id, options=_options(values),
                                  initial_option=_option(initial) if initial in values else None,
                                  placeholder=_plain("Choose"))
    return _input(block_id, label, element, optional, hint)


def escalation_form_modal(policy: Policy, role: str = "", agency: str = "") -> dict:
    lists = policy.lists
    blocks = [
        SectionBlock(text=_md(
            "*About the child.* Use initials and your agency's case reference only: never a name or address. "
            "The full record stays on your agency's system.")),
        _text_input("child_initials", "Child's initials", max_length=12, placeholder="J.S."),
        _text_input("child_case_reference", "Your agency's case reference for the child", max_length=60),
        _select("level_of_need", "Level of need", lists.levels_of_need),
        DividerBlock(),
        SectionBlock(text=_md("*About you.* Remembered for next time.")),
        _text_input("raiser_role", "Your role", initial=role, max_length=200),
        _select("raiser_agency", "Your agency", lists.agencies, initial=agency),
        DividerBlock(),
        SectionBlock(text=_md("*Who the disagreement is with*")),
        _select("other_agency", "Their agency", lists.agencies),
        _input("professionals", "The professional(s), if they are in this workspace",
               UserMultiSelectElement(action_id="professionals", placeholder=_plain("Choose people"),
                                      max_selected_items=10), optional=True,
               hint="They will get a message inviting them to talk it through with you."),
        _text_input("professionals_name", "Or someone not in this workspace: their name", optional=True,
                    max_length=200),
        _input("professionals_email", "Their email", EmailInputElement(action_id="professionals_email"),
               optional=True),
        DividerBlock(),
        SectionBlock(text=_md("*The concern*, as specific and evidence-based as you can make it.")),
        _input("themes", "What the disagreement is about",
               StaticMultiSelectElement(action_id="themes", options=_options(lists.themes),
                                        placeholder=_plain("Choose one or more"))),
        _text_input("key_dates", "Key dates", multiline=True),
        _text_input("evidence_of_need", "Evidence of need", multiline=True),
        _text_input("decision_disagreed", "The decision or action you disagree with", multiline=True),
        _text_input("interventions_to_date", "Summary of interventions to date", multiline=True),
        _text_input("outcome_wanted", "The outcome you want", multiline=True),
        DividerBlock(),
        SectionBlock(text=_md("*Optional, for the partnership's reports only.*")),
        _select("age_band", "Age band", AGE_BANDS, optional=True),
        _select("gender", "Gender", GENDERS, optional=True),
        _select("ethnicity", "Ethnicity", ETHNICITIES, optional=True),
        _select("send", "Special educational needs or disability (SEND)", SEND_ANSWERS, optional=True),
    ]
    return _modal(FORM_VIEW, "Raise an escalation", blocks, submit="Raise")


def raised_modal(case: CaseView, now: datetime) -> dict:
    return notice_modal(
        "Escalation raised",
        f"*{case.reference}* is open at Stage 1. {_stage_deadline_line(case, now)}\n"
        "Your case card is in your messages from the bot. Record each discussion on it.")


def note_modal(case: CaseView) -> dict:
    blocks = [
        SectionBlock(text=_md(f"*{case.reference}* · {stage_title(case)}")),
        _input("note_kind", "What was it?",
               StaticSelectElement(action_id="note_kind",
                                   options=[Option(text=_plain(v), value=k) for k, v in NOTE_KINDS.items()],
                                   initial_option=Option(text=_plain(NOTE_KINDS["discussion"]), value="discussion"))),
        _text_input("note_text", "What was discussed or agreed", multiline=True),
    ]
    return _modal(NOTE_VIEW, "Add a note", blocks, private_metadata=action_value(case))


def outcome_modal(case: CaseView, today: date, *, decision: bool) -> dict:
    intro = (f"Record the {case.policy.stage(case.current_stage).name}'s decision. This closes the case."
             if decision else "Record how the disagreement was resolved at this stage. This closes the case.")
    blocks = [
        SectionBlock(text=_md(f"*{case.reference}* · {stage_title(case)}\n{intro}")),
        _input("outcome_kind", "Outcome",
               RadioButtonsElement(action_id="outcome_kind",
                                   options=[Option(text=_plain(v), value=k) for k, v in OUTCOME_KINDS.items()])),
        _text_input("decision_outcome", "Decision or outcome", multiline=True),
        _text_input("key_learning", "Summary of key learning", multiline=True),
        _input("outcome_date", "Date", DatePickerElement(action_id="outcome_date", initial_date=today.isoformat())),
    ]
    return _modal(DECISION_VIEW if decision else RESOLVE_VIEW, "Record the decision" if decision else "Resolved",
                  blocks, private_metadata=action_value(case))


def escalate_modal(case: CaseView) -> dict:
    next_stage = case.policy.stage(case.current_stage + 1)
    blocks = [
        SectionBlock(text=_md(
            f"*{case.reference}* moves from {stage_title(case)} to *Stage {next_stage.number}: {next_stage.name}*, "
            f"held by {next_stage.held_by}. The {next_stage.working_days} working days start again.")),
        _text_input("reason", "Your request to the Executive Group: the concerns, the supporting evidence and "
                    "what you ask them to consider" if next_stage.number == case.stage_count
                    else "Why it needs to go to the next stage", multiline=True),
        _input("next_holders", f"Who holds Stage {next_stage.number}",
               UserMultiSelectElement(action_id="next_holders", placeholder=_plain("Choose people"),
                                      max_selected_items=10),
               hint=f"Usually {next_stage.held_by}."),
        _text_input("decision_outcome", "Decision or outcome at this stage, so far", multiline=True, optional=True),
        _text_input("key_learning", "Key learning so far", multiline=True, optional=True),
    ]
    return _modal(ESCALATE_VIEW, f"Escalate to Stage {next_stage.number}", blocks, submit="Escalate",
                  private_metadata=action_value(case))


def withdraw_modal(case: CaseView) -> dict:
    blocks = [
        SectionBlock(text=_md(f"*{case.reference}* · {stage_title(case)}\nWithdrawing closes the case.")),
        _text_input("reason", "Why is it withdrawn?", multiline=True),
    ]
    return _modal(WITHDRAW_VIEW, "Withdraw", blocks, submit="Withdraw", private_metadata=action_value(case))


def consultation_modal(case: CaseView) -> dict:
    blocks = [
        SectionBlock(text=_md(
            "A multi-agency reflective group consultation helps when a case is stuck. A service manager requests "
            f"it via the {case.policy.partnership} Manager; the Children's Social Care Systemic Lead facilitates it. "
            f"The request is posted to the {case.policy.partnership} team.")),
        _text_input("consultation_note", "Anything the facilitator should know", multiline=True, optional=True),
    ]
    return _modal(CONSULTATION_VIEW, "Reflective consultation", blocks, submit="Request",
                  private_metadata=action_value(case))


HISTORY_WORDS = {
    "opened": "raised the escalation",
    "note_added": "added a note",
    "escalated": "escalated it",
    "resolved": "recorded it as resolved",
    "withdrawn": "withdrew it",
    "executive_decision": "recorded the decision",
    "reflective_consultation_requested": "requested a reflective group consultation",
    "viewed": "looked at it",
    "refused": "tried an action they may not take",
}


def history_modal(case: CaseView, entries: list[HistoryEntry]) -> dict:
    calendar = case.policy.working_calendar
    lines = []
    for entry in entries:
        if entry.action == "viewed":
            continue
        when = calendar.local(entry.at).strftime("%d %b %Y %H:%M")
        actor = who(entry.who) if entry.who else "The bot"
        extra = ""
        if entry.action == "escalated":
            extra = f" (Stage {entry.detail.get('from_stage')} → {entry.detail.get('to_stage')})"
        lines.append(f"{when} · {actor} {HISTORY_WORDS.get(entry.action, entry.action)}{extra}")
    blocks: list[Block] = [SectionBlock(text=_md(f"*{case.reference}* · {stage_title(case)}"))]
    # A section holds 3,000 characters; long histories are split across sections (a modal holds 100 blocks).
    chunk = ""
    for line in lines[-300:]:
        if len(chunk) + len(line) + 1 > 2900:
            blocks.append(SectionBlock(text=_md(chunk)))
            chunk = ""
        chunk += line + "\n"
    if chunk:
        blocks.append(SectionBlock(text=_md(chunk)))
    for note in case.notes[-20:]:
        blocks.append(SectionBlock(text=_md(
            f"*{NOTE_KINDS.get(note.kind, note.kind)}*, Stage {note.stage_number}, "
            f"{calendar.local(note.created_at):%d %b %Y %H:%M}, {who(note.author)}\n{_text(note.text, 2500)}")))
    return _modal("case_history_view", "History", blocks[:100], submit=None, close="Close")


# ------------------------------------------------------------------ help, lists, App Home


def help_blocks(policy: Policy) -> list[dict]:
    stages = "\n".join(
        f"*Stage {s.number}: {s.name}* ({'formal' if s.formal else 'informal'}), held by {s.held_by}; "
        f"{s.working_days} working days." for s in policy.stages)
    blocks = [
        HeaderBlock(text=_plain("Escalation and Resolution")),
        SectionBlock(text=_md(
            "Use `/escalate` when you disagree with another agency's decision or action about a child, and talking "
            "it through with your line manager or safeguarding lead has not settled it.")),
        SectionBlock(text=_md(f"*The stages*\n{stages}\nThe {policy.partnership} team is told from Stage "
                              f"{policy.partnership_informed_from_stage}.")),
        SectionBlock(text=_md("*Principles*\n" + "\n".join(f"• {p}" for p in policy.principles))),
        SectionBlock(text=_md(f"*If a child is at immediate risk*\n{policy.immediate_risk.guidance}")),
        SectionBlock(text=_md(f"*Whistleblowing*\n{policy.whistleblowing.guidance}")),
        ContextBlock(elements=[_md("`/escalate` raise · `/escalate list` your open cases · "
                                   "`/escalate ESC-2026-0001` one case · `/escalate help` this")]),
    ]
    return _json(blocks)


def _case_line(case: CaseView, now: datetime) -> SectionBlock:
    return SectionBlock(text=_md(
        f"*{case.reference}* · {stage_title(case)} · {case.other_agency}\n"
        f"{deadline_words(case.deadline_status(now), case.policy)} · held by {people(case.stage.holders)}"))


def list_blocks(mine: MyCases, now: datetime) -> list[dict]:
    blocks: list[Block] = []
    for title, cases in (("You raised", mine.raised), ("You hold the current stage", mine.holding),
                         ("You are part of", mine.involved)):
        if cases:
            blocks.append(SectionBlock(text=_md(f"*{title}*")))
            blocks.extend(_case_line(c, now) for c in cases[:15])
    if not blocks:
        blocks.append(SectionBlock(text=_md("You have no open escalations.")))
    return _json(blocks[:50])


def home_view(mine: MyCases, now: datetime, partnership: list[CaseView] | None,
              failures: list[tuple[str, str, str]]) -> dict:
    blocks: list[Block] = [
        HeaderBlock(text=_plain("Escalations")),
        ActionsBlock(block_id="home_actions", elements=[
            ButtonElement(text=_plain("Raise an escalation"), action_id=RAISE_ACTION, style="primary")]),
    ]
    for title, cases in (("Your open escalations", mine.raised), ("Stages you hold", mine.holding)):
        blocks.append(HeaderBlock(text=_plain(title)))
        blocks.extend(_case_line(c, now) for c in cases[:20])
        if not cases:
            blocks.append(SectionBlock(text=_md("None.")))
    if partnership is not None:
        blocks.append(HeaderBlock(text=_plain("Open escalations with the partnership")))
        blocks.extend(_case_line(c, now) for c in partnership[:30])
        if not partnership:
            blocks.append(SectionBlock(text=_md("None.")))
        if failures:
            blocks.append(HeaderBlock(text=_plain("Messages not delivered")))
            blocks.extend(SectionBlock(text=_md(delivery_failed_text(*f))) for f in failures[:10])
    view = View(type="home", blocks=blocks[:100])
    view.validate_json()
    return view.to_dict()
