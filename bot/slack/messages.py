"""Every message and view the Slack front-end shows, built in one place with slack_sdk.models.

Built with the models so that Slack's limits are checked before anything is sent. Nothing here
reads the database: each builder is given what it shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
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
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.slack import payloads
from flows import cards, forms, topics
from flows import permissions as can
from flows.digest import Digest
from flows.forms import stage_title
from flows.notices import (
    NOTHING_ASKED,
    Notice,
    long_date,
    named,
    partnership_notice,
    person_notice,
)
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.policy import Policy
from flows.queries import CaseFilter, HistoryEntry, MyCases
from flows.records import CaseView

# Callback ids of the views: the listeners register on these.
GATE_VIEW = "escalate_gate"
FORM_VIEW = "escalate_form"
RAISE_ACTION = "home_raise"
# The person's choice of e-mail as well as Slack (flows.cards.email_copies_choice names them).
EMAIL_COPIES_ACTIONS = {"home_email_copies_on": True, "home_email_copies_off": False}
HOME_FILTERS = {
    "home_filter_stage": "stage",
    "home_filter_overdue": "overdue",
    "home_filter_agency": "agency",
    "home_filter_theme": "theme",
}

# Each action on a case: its button's action id (label and style come from flows.cards). The case's modal has
# callback id `<action_id>_view`.
BUTTONS = {
    can.NOTE: "case_note",
    can.RESOLVE: "case_resolve",
    can.PROPOSE_RESOLUTION: "case_propose",
    can.ANSWER_PROPOSAL: "case_answer_proposal",
    can.ESCALATE: "case_escalate",
    can.ASK_TO_ESCALATE: "case_ask_escalate",
    can.NAME_HOLDER: "case_name_holder",
    can.REQUEST_CONSULTATION: "case_consultation",
    can.RECORD_CONSULTATION: "case_record_consultation",
    can.EXECUTIVE_DECISION: "case_decision",
    can.CHASE: "case_chase",
    can.HAND_OVER: "case_hand_over",
    can.WITHDRAW: "case_withdraw",
    can.CORRECT_DETAILS: "case_correct",
    can.DETAILS: "case_details",
    cards.HISTORY: "case_history",
    # The paperwork: sent as a file to the reader's direct messages (no form).
    can.NOTIFICATION_FORM: "case_notification_form",
    can.RECORD_FOR_FILE: "case_record_for_file",
}
# History is the reader's view of the case's details over time: the same permission as Details.
ACTION_OF_BUTTON = {button: can.DETAILS if action == cards.HISTORY else action for action, button in BUTTONS.items()}


def view_id(action: str) -> str:
    return BUTTONS[action] + "_view"


ACTION_OF_VIEW = {
    view_id(action): action for action in BUTTONS if action != cards.HISTORY and action not in can.DOCUMENTS
}

# Rows for agreed actions on a resolution form: what, who, by when.
ACTION_ROWS = forms.ACTION_ROWS


# ------------------------------------------------------------------ small pieces


def escape(value: str) -> str:
    """What a person typed, shown as they typed it: Slack reads &, < and > as markup (mentions, links)."""
    return (value or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(value: str, limit: int = 3000) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _user(value: str, limit: int = 3000) -> str:
    """User text, escaped, within `limit` characters without cutting an escape in half."""
    escaped = escape(value)
    if len(escaped) <= limit:
        return escaped
    return re.sub(r"&[a-z]{0,3}$", "", escaped[: limit - 1]) + "…"


def _md(value: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=_text(value, limit))


def _plain(value: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=_text(value, limit), emoji=True)


def _json(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def who(person: PersonRef) -> str:
    """A person as Slack shows them: a mention in the workspace, otherwise name and email."""
    if person.platform == "slack":
        return f"<@{person.user_id}>"
    if person.platform == EMAIL_PLATFORM:
        return escape(named(person))
    return escape(person.name or person.email or person.user_id)


def people(persons: Iterable[PersonRef]) -> str:
    return ", ".join(who(p) for p in persons) or "nobody named"


def action_value(case: CaseView) -> str:
    # The version lets a stale or repeated click change nothing.
    return json.dumps({"r": case.reference, "v": case.version})


def read_action_value(value: str) -> tuple[str, int | None]:
    return payloads.read_action_value(value)  # never raises: ("", None) when it cannot be read


# ------------------------------------------------------------------ the case card


def words(pieces: cards.Words, limit: int = 3000) -> str:
    """Plain words with people in them, as Slack shows them: escaped text, mentions; cut whole within `limit`."""
    drawn = "".join(who(p) if isinstance(p, PersonRef) else escape(p) for p in pieces)
    if len(drawn) <= limit:
        return drawn
    # Never end on half an escape or half a mention.
    return re.sub(r"(&[a-z]{0,3}|<[^>]*)$", "", drawn[: limit - 1]) + "…"


def _deadline_block(deadline: cards.Deadline) -> ContextBlock:
    text = f":warning: *{escape(deadline.words)}*" if deadline.overdue else escape(deadline.words)
    return ContextBlock(elements=[_md(text)])


def _buttons(card: cards.Card) -> list[ButtonElement]:
    # The version lets a stale or repeated click change nothing; a settled copy has none, so it stays as it is.
    value = json.dumps({"r": card.reference} if card.version is None else {"r": card.reference, "v": card.version})
    return [
        ButtonElement(text=_plain(action.label), action_id=BUTTONS[action.id], value=value, style=action.style or None)
        for action in card.actions
    ]


def _card_blocks(card: cards.Card, section_limit: int) -> list[Block]:
    # Slack shows at most 10 fields of 2,000 characters beside each other; longer words are cut, whole.
    blocks: list[Block] = [
        HeaderBlock(text=_plain(card.title)),
        SectionBlock(fields=[_md(f"*{escape(label)}*\n{words(value, 1900)}") for label, value in card.facts[:10]]),
    ]
    blocks += [
        SectionBlock(text=_md(f"*{escape(heading)}*\n{words(value, section_limit)}"))
        for heading, value in card.sections
    ]
    if card.deadline is not None:
        blocks.append(_deadline_block(card.deadline))
    buttons = _buttons(card)
    if buttons:
        blocks.append(ActionsBlock(block_id="case_actions", elements=buttons))
    return blocks


def case_card(case: CaseView, now: datetime, actions: list[str]) -> tuple[str, list[dict]]:
    """The card, with the buttons of the reader whose copy it is (`actions`)."""
    return _drawn(cards.case_card(case, now, actions))


def _drawn(card: cards.Card) -> tuple[str, list[dict]]:
    return card.summary, _json(_card_blocks(card, 1200))


# ------------------------------------------------------------------ direct messages


def card_message(card: cards.Card, lead: str = "") -> tuple[str, list[dict]]:
    """A reader's copy of the card, with the words that introduced it in this direct message above it (kept: they
    are what the message said when it came)."""
    card_text, card_blocks = _drawn(card)
    if not lead:
        return card_text, card_blocks
    return lead, _json([SectionBlock(text=_md(lead)), DividerBlock()]) + card_blocks


# Topics whose message starts with a sign, so a glance tells a reminder from news.
SIGNS = {topics.REMINDER: ":alarm_clock:", topics.ACTION_DUE: ":alarm_clock:", topics.STAGE_OVERDUE: ":warning:"}


def _told(notice: Notice, limit: int) -> list[str]:
    return [f"*{escape(label)}:* {_user(value, limit)}" for label, value in notice.told]


def person_lead(topic: str, case: CaseView, payload: dict, now: datetime, reader: PersonRef) -> str:
    """What a direct message about `topic` says to the person, from flows.notices: what happened, what was
    written, what is asked of them. The case's details are on the card beside it, so none are repeated."""
    notice = person_notice(topic, case, payload, now, reader, details=True)
    sign = ":warning:" if payload.get("kind") == "overdue" else SIGNS.get(topic, "")
    lines = [f"{sign} {escape(notice.lead)}".strip(), *_told(notice, 1000)]
    asked = notice.asked
    lines.append(f"_{escape(asked)}_" if asked == NOTHING_ASKED else f"*What is asked of you:* {escape(asked)}")
    return _text("\n".join(lines), 2900)


# ------------------------------------------------------------------ the partnership channel


def partnership_post(case: CaseView, now: datetime, actions: list[str]) -> tuple[str, list[dict]]:
    """The Escalation Notification Form summary for the partnership team, with its actions. Never a name."""
    card = cards.partnership_card(case, now, actions)
    return card.summary, _json(_card_blocks(card, 2900))


def partnership_reply(topic: str, case: CaseView, payload: dict, now: datetime) -> str:
    """A reply in the case's thread, from flows.notices. Dates only: replies are never redrawn."""
    notice = partnership_notice(topic, case, payload, now)
    sign = SIGNS.get(topic, "")
    heading = f"{sign} *{escape(notice.headline)}.*".strip()
    return _text("\n".join([f"{heading} {escape(notice.lead)}".strip(), *_told(notice, 1200)]), 2900)


def digest_message(digest: Digest) -> tuple[str, list[dict]]:
    """The weekly digest for the partnership channel. Dates only: it is never redrawn."""

    def lines(items, over: bool) -> str:
        return (
            "\n".join(
                f"• *{i.reference}* Stage {i.stage} ({i.stage_name}), {escape(i.raiser_agency)} → "
                f"{escape(i.other_agency)}: {'was due' if over else 'due'} {long_date(date.fromisoformat(i.due_on))}"
                for i in items[:25]
            )
            or "None."
        )

    def counts(items) -> str:
        return "\n".join(f"• {escape(name)}: {count}" for name, count in items[:15]) or "None."

    closed = (
        "\n".join(
            f"• *{c.reference}* at Stage {c.stage}: {c.outcome}"
            + (f"\n   _Key learning:_ {_user(c.key_learning, 300)}" if c.key_learning else "")
            for c in digest.closed[:15]
        )
        or "None."
    )
    stages = "\n".join(f"• Stage {n} ({name}): {count}" for n, name, count in digest.open_by_stage) or "None."
    blocks = [
        HeaderBlock(text=_plain(f"Weekly escalations digest: week of {long_date(date.fromisoformat(digest.week_of))}")),
        SectionBlock(text=_md(f"*Open, by stage*\n{stages}")),
        SectionBlock(text=_md(f"*Overdue stages*\n{lines(digest.overdue, True)}", 2900)),
        SectionBlock(text=_md(f"*Due this week*\n{lines(digest.due_this_week, False)}", 2900)),
        SectionBlock(text=_md(f"*Closed since the last digest*\n{closed}", 2900)),
        SectionBlock(
            fields=[
                _md(f"*By theme*\n{counts(digest.by_theme)}", 2000),
                _md(f"*By agency raising*\n{counts(digest.by_agency_raising)}", 2000),
                _md(f"*By agency receiving*\n{counts(digest.by_agency_receiving)}", 2000),
            ]
        ),
    ]
    return f"Weekly escalations digest, week of {digest.week_of}", _json(blocks)


def delivery_failed_text(reference: str, topic: str, error: str) -> str:
    return (
        f":warning: A message from the escalation bot could not be delivered and needs a person to follow it "
        f"up: {reference or 'no case'}, {topic.replace('_', ' ')} ({_text(error, 200)})."
    )


# ------------------------------------------------------------------ forms, drawn from flows.forms


def _modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    submit: str | None = "Submit",
    private_metadata: str = "",
    close: str = "Cancel",
) -> dict:
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


def _note_block(note: forms.Note) -> SectionBlock:
    words = _user(note.text, 2900)
    if note.heading:
        words = f"*{escape(note.heading)}*" + (f"\n{words}" if words else "")
    return SectionBlock(text=_md(words))


def _slack_option(option: forms.Option) -> Option:
    # Slack shows at most 75 characters of an option; the value (at most 150, the policy's limit) is kept whole.
    return Option(text=_plain(option.label, 75), value=option.value)


def _element(field: forms.Field):
    """The Block Kit element nearest to the field's kind. Slack's own limits are applied here."""
    kind, fid = field.kind, field.id
    options = [_slack_option(o) for o in field.options]
    initial = next((o for o, spec in zip(options, field.options, strict=True) if spec.value == field.initial), None)
    placeholder = _plain(field.placeholder) if field.placeholder else None
    if kind in (forms.Kind.TEXT, forms.Kind.LONG_TEXT, forms.Kind.EMAILS):
        return PlainTextInputElement(
            action_id=fid,
            multiline=kind == forms.Kind.LONG_TEXT,
            max_length=min(field.limit or 3000, 3000),
            initial_value=field.initial or None,
            placeholder=placeholder,
        )
    if kind == forms.Kind.CHOICE:
        return StaticSelectElement(
            action_id=fid, options=options, initial_option=initial, placeholder=placeholder or _plain("Choose")
        )
    if kind == forms.Kind.CHOICES:
        return StaticMultiSelectElement(action_id=fid, options=options, placeholder=placeholder or _plain("Choose"))
    if kind == forms.Kind.RADIO:
        return RadioButtonsElement(action_id=fid, options=options, initial_option=initial)
    if kind == forms.Kind.TICK:
        return CheckboxesElement(action_id=fid, options=options)
    if kind == forms.Kind.DATE:
        return DatePickerElement(action_id=fid, initial_date=field.initial or None)
    if kind == forms.Kind.PERSON:
        return UserSelectElement(action_id=fid, placeholder=_plain("Choose a person"))
    if kind == forms.Kind.PEOPLE:
        return UserMultiSelectElement(
            action_id=fid, placeholder=_plain("Choose people"), max_selected_items=forms.MAX_PEOPLE
        )
    raise ValueError(f"no Slack element for {kind}")


def _field_block(field: forms.Field) -> InputBlock:
    return InputBlock(
        block_id=field.id,
        label=_plain(field.label, 2000),
        element=_element(field),
        optional=not field.required,
        hint=_plain(field.hint, 2000) if field.hint else None,
    )


FORM_CALLBACKS = {forms.GATE_FORM: GATE_VIEW, forms.RAISE_FORM: FORM_VIEW, forms.NOTICE_FORM: "notice"}


def form_view(form: forms.Form) -> dict:
    """A form from flows.forms as a modal: the callback id says which form, the metadata which case."""
    blocks: list[Block] = []
    for item in form.items:
        if isinstance(item, forms.Field):
            blocks.append(_field_block(item))
            continue
        # A headed note after a field starts a new part of the form.
        if item.heading and blocks and isinstance(blocks[-1], InputBlock):
            blocks.append(DividerBlock())
        blocks.append(_note_block(item))
    callback_id = FORM_CALLBACKS.get(form.id) or view_id(form.id)
    metadata = json.dumps({"r": form.reference, "v": form.version, "side": form.side}) if form.reference else ""
    if not form.submit:
        return _modal(callback_id, form.title, blocks, submit=None, close="Close")
    return _modal(callback_id, form.title, blocks, submit=form.submit, private_metadata=metadata)


def notice_modal(title: str, text: str) -> dict:
    return form_view(forms.notice(title, text))


def _case_intro(case: CaseView, extra: str = "") -> SectionBlock:
    return SectionBlock(text=_md(f"*{case.reference}* · {stage_title(case)}" + (f"\n{extra}" if extra else "")))


def _section_chunks(title: str, lines: list[str]) -> list[SectionBlock]:
    """Sections of at most ~2,900 characters (Slack's limit is 3,000)."""
    blocks, chunk = [], f"*{title}*\n"
    for line in lines:
        if len(chunk) + len(line) + 1 > 2900:
            blocks.append(SectionBlock(text=_md(chunk)))
            chunk = ""
        chunk += line + "\n"
    if chunk.strip():
        blocks.append(SectionBlock(text=_md(chunk)))
    return blocks


def details_modal(case: CaseView) -> dict:
    """The full concern as raised, every stage's record, the agreed actions and every note."""
    intro, parts = cards.details(case)
    blocks: list[Block] = [_case_intro(case, words(intro, 2000))]
    for heading, lines in parts:
        blocks += _section_chunks(escape(heading), [words(line, 2000) for line in lines])
    return _modal("case_details_view", "Details", blocks[:100], submit=None, close="Close")


def history_modal(case: CaseView, entries: list[HistoryEntry]) -> dict:
    lines = [words(line, 2900) for line in cards.history_lines(case, entries)]
    blocks: list[Block] = [_case_intro(case)] + _section_chunks("History", lines[-300:])
    return _modal("case_history_view", "History", blocks[:100], submit=None, close="Close")


AUDIT_WORDS = {
    **cards.HISTORY_WORDS,
    "viewed": "looked at it",
    "listed": "saw it in a list",
    "audit_read": "read this audit trail",
    "erased": "erased its details under the retention rule",
    "refused": "was refused when trying to",
}


def audit_blocks(reference: str, entries: list[HistoryEntry], policy: Policy) -> list[dict]:
    """Every read and change of a case, for the partnership team (newest 200)."""
    calendar = policy.working_calendar
    lines = []
    for entry in entries[-200:]:
        actor = who(entry.who) if entry.who else "The bot"
        words = AUDIT_WORDS.get(entry.action, entry.action.replace("_", " "))
        if entry.action == "refused":
            words += " " + str(entry.detail.get("attempted", "act")).replace("_", " ")
        lines.append(f"{calendar.local(entry.at):%d %b %Y %H:%M} · {actor} {words}")
    return _json(_section_chunks(f"Who has read or changed {reference}", lines)[:50])


# ------------------------------------------------------------------ help, lists, App Home


def help_blocks(policy: Policy) -> list[dict]:
    stages = "\n".join(
        f"*Stage {s.number}: {s.name}* ({'formal' if s.formal else 'informal'}), held by {s.held_by}; "
        f"{s.working_days} working days."
        for s in policy.stages
    )
    blocks = [
        HeaderBlock(text=_plain("Escalation and Resolution")),
        SectionBlock(
            text=_md(
                "Use `/escalate` when you disagree with another agency's decision or action about a child, and talking "
                "it through with your line manager or safeguarding lead has not settled it."
            )
        ),
        SectionBlock(
            text=_md(
                f"*The stages*\n{stages}\nAt each stage both agencies take part at the same level. "
                f"The {policy.partnership} team is told from Stage "
                f"{policy.partnership_informed_from_stage}."
            )
        ),
        SectionBlock(text=_md("*Principles*\n" + "\n".join(f"• {p}" for p in policy.principles))),
        SectionBlock(text=_md(f"*If a child is at immediate risk*\n{policy.immediate_risk.guidance}")),
        SectionBlock(text=_md(f"*Whistleblowing*\n{policy.whistleblowing.guidance}")),
        ContextBlock(
            elements=[
                _md(
                    "`/escalate` raise · `/escalate list` your cases · "
                    "`/escalate ESC-2026-1` one case · `/escalate MOS-123456` by your agency's case "
                    "reference · `/escalate help` this"
                )
            ]
        ),
    ]
    return _json(blocks)


def _case_line(case: CaseView, now: datetime) -> SectionBlock:
    heading, where = cards.case_line(case, now)
    return SectionBlock(text=_md(f"*{escape(heading)}*\n{words(where, 2800)}"))


def list_blocks(mine: MyCases, now: datetime) -> list[dict]:
    blocks: list[Block] = []
    for title, cases in (
        ("You raised", mine.raised),
        ("You hold the current stage", mine.holding),
        ("You are part of", mine.involved),
    ):
        if cases:
            blocks.append(SectionBlock(text=_md(f"*{title}*")))
            blocks.extend(_case_line(c, now) for c in cases[:15])
    if not blocks:
        blocks.append(SectionBlock(text=_md("You have no open escalations.")))
    return _json(blocks[:50])


def cases_blocks(cases: list[CaseView], now: datetime, heading: str) -> list[dict]:
    return _json([SectionBlock(text=_md(f"*{heading}*")), *(_case_line(c, now) for c in cases[:40])])


def _filter_select(action_id: str, label: str, options: list[tuple[str, str]], current: str) -> StaticSelectElement:
    choices = [Option(text=_plain(label_, 75), value=value) for value, label_ in [("", f"{label}: any"), *options]]
    initial = next((o for o in choices if o.value == current), choices[0])
    return StaticSelectElement(action_id=action_id, options=choices, initial_option=initial, placeholder=_plain(label))


def home_view(
    mine: MyCases,
    now: datetime,
    partnership: list[CaseView] | None,
    failures: list[tuple[str, str, str]],
    policy: Policy,
    case_filter: CaseFilter = CaseFilter(),
    email_copies: bool | None = None,
) -> dict:
    """`email_copies`: the person's choice of e-mail as well (None: not offered, e-mail cannot reach them)."""
    buttons = [ButtonElement(text=_plain("Raise an escalation"), action_id=RAISE_ACTION, style="primary")]
    choice = None
    if email_copies is not None:
        words, action = cards.email_copies_choice(email_copies)
        buttons.append(ButtonElement(text=_plain(action.label), action_id=f"home_{action.id}"))
        choice = ContextBlock(elements=[_plain(words)])
    blocks: list[Block] = [
        HeaderBlock(text=_plain("Escalations")),
        ActionsBlock(block_id="home_actions", elements=buttons),
        *([choice] if choice else []),
    ]
    for title, cases in (
        ("Stages you hold", mine.holding),
        ("Your open escalations", mine.raised),
        ("Others you are part of", mine.involved),
    ):
        if not cases and title == "Others you are part of":
            continue
        blocks.append(HeaderBlock(text=_plain(title)))
        blocks.extend(_case_line(c, now) for c in cases[:15])
        if not cases:
            blocks.append(SectionBlock(text=_md("None.")))
    if mine.closed:
        blocks.append(HeaderBlock(text=_plain("Closed")))
        blocks.extend(_case_line(c, now) for c in mine.closed[:10])
    metadata = ""
    if partnership is not None:
        blocks.append(HeaderBlock(text=_plain("Open escalations with the partnership")))
        stage_options = [
            (str(s.number), f"Stage {s.number}") for s in policy.stages if policy.partnership_informed_at(s.number)
        ]
        blocks.append(
            ActionsBlock(
                block_id="home_filters",
                elements=[
                    _filter_select(
                        "home_filter_stage", "Stage", stage_options, str(case_filter.stage) if case_filter.stage else ""
                    ),
                    _filter_select(
                        "home_filter_overdue",
                        "Overdue",
                        [("yes", "Overdue only")],
                        "yes" if case_filter.overdue else "",
                    ),
                    _filter_select(
                        "home_filter_agency", "Agency", [(a, a) for a in policy.lists.agencies], case_filter.agency
                    ),
                    _filter_select(
                        "home_filter_theme", "Theme", [(t, t) for t in policy.lists.themes], case_filter.theme
                    ),
                ],
            )
        )
        blocks.extend(_case_line(c, now) for c in partnership[:25])
        if not partnership:
            blocks.append(SectionBlock(text=_md("None.")))
        if failures:
            blocks.append(HeaderBlock(text=_plain("Messages not delivered")))
            blocks.extend(SectionBlock(text=_md(delivery_failed_text(*f))) for f in failures[:10])
        metadata = json.dumps(case_filter.__dict__)
    view = View(type="home", blocks=blocks[:100], private_metadata=metadata)
    view.validate_json()
    return view.to_dict()
