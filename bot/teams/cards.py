"""Every Adaptive Card the Teams front-end sends, as JSON (schema 1.5, the newest Teams renders in bot messages).

Cards are built from the core's read models (flows.records, flows.queries) and its wording (flows.notices),
never from Slack's renderer. Each is checked against the Adaptive Card rules by the stand-in in the tests.
"""

from __future__ import annotations

from datetime import datetime

from microsoft_teams.api import Attachment, FileConsentCard, FileInfoCard, FileUploadInfo
from microsoft_teams.cards import AdaptiveCard

from flows import cards as says
from flows import forms
from flows.notices import NOTHING_ASKED, Notice, deadline_words, long_date, named
from flows.people import PersonRef
from flows.policy import Policy
from flows.queries import MyCases
from flows.records import CaseView

VERSION = "1.5"
# task/fetch with this dialog id opens the raise dialog (the gate questions, then the form).
RAISE_DIALOG = "raise"
LIST_WORD, RAISE_WORD, REPORT_WORD = "list", "escalate", "report"
# The person's choice of e-mail as well as Teams, by what they type (flows.cards.email_copies_choice's actions).
EMAIL_COPIES_WORDS = {"email_copies_on": "email me", "email_copies_off": "stop emails"}


def as_card(content: dict) -> AdaptiveCard:
    """The SDK's model of a card given as JSON (it keeps every property as given)."""
    return AdaptiveCard.model_validate(content)


def card(body: list[dict], actions: list[dict] | None = None) -> dict:
    content = {"type": "AdaptiveCard", "version": VERSION, "body": body}
    if actions:
        content["actions"] = actions
    return content


def text(words: str, **style) -> dict:
    return {"type": "TextBlock", "text": words, "wrap": True, **style}


def heading(words: str) -> dict:
    return text(words, weight="Bolder", size="Medium")


def raise_button(title: str = "Raise an escalation") -> dict:
    """Opens the raise dialog (Teams sends task/fetch with this data)."""
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "task/fetch"}, "dialog_id": RAISE_DIALOG},
    }


def say_button(title: str, word: str) -> dict:
    """As if the person had typed `word` in the chat."""
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "messageBack", "text": word, "displayText": word}},
    }


def welcome_card(policy: Policy, email_copies: bool | None = None) -> dict:
    """`email_copies`: the person's choice of e-mail as well (None: not offered, e-mail cannot reach them)."""
    days = sorted({stage.working_days for stage in policy.stages})
    each = f"each due within {days[0]} working days" if len(days) == 1 else "each with its own deadline"
    buttons, choice = [raise_button(), say_button("My cases", LIST_WORD)], []
    if email_copies is not None:
        words, action = says.email_copies_choice(email_copies)
        buttons.append(say_button(action.label, EMAIL_COPIES_WORDS[action.id]))
        choice = [text(words, isSubtle=True)]
    return card(
        [
            heading("Escalation and Resolution"),
            text(
                "When you disagree with another agency's decision or action about a child, raise an escalation "
                f"here. The bot takes everyone through the policy's {len(policy.stages)} stages, {each}, and keeps "
                "the record the policy asks for."
            ),
            text(
                f"Type **{LIST_WORD}** for your cases, **{RAISE_WORD}** to raise one. Never type a child's name: "
                "initials and your agency's case reference only.",
                isSubtle=True,
            ),
            *choice,
        ],
        buttons,
    )


def channel_card(conversation_id: str) -> dict:
    """Said in a team's channel when the bot is added to it: how to make it the CSCP team's channel."""
    return card(
        [
            heading("Escalation and Resolution"),
            text(
                "If this is the CSCP team's channel, ask your administrator to set TEAMS_CSCP_CONVERSATION_ID to "
                f"{conversation_id} and restart the bot: from Stage 3 each case then has a post here, with its "
                "steps in the thread, and the weekly digest. Its members count as the CSCP team."
            ),
        ]
    )


def _case_lines(case: CaseView, now: datetime) -> list[dict]:
    stage = case.policy.stage(case.current_stage)
    title = (
        f"**{case.reference}** · Stage {case.current_stage} of {case.stage_count}: {stage.name} · {case.other_agency}"
    )
    if not case.is_open:
        closed = long_date(case.policy.working_calendar.local_date(case.closed_at)) if case.closed_at else ""
        return [
            text(f"**{case.reference}** · {case.other_agency}"),
            text(f"Closed {closed}", isSubtle=True, spacing="None"),
        ]
    holders = ", ".join(named(p) for p in case.stage.holders) or "nobody yet"
    when = deadline_words(case.policy, case.stage.due_at, now)
    return [text(title), text(f"{when[0].upper()}{when[1:]} · held by {holders}", isSubtle=True, spacing="None")]


def my_cases_card(mine: MyCases, now: datetime) -> dict:
    """The person's cases, as App Home lists them in Slack: what they hold first."""
    body = [heading("Your escalations")]
    for title, cases in (
        ("Stages you hold", mine.holding),
        ("Your open escalations", mine.raised),
        ("Others you are part of", mine.involved),
        ("Closed", mine.closed),
    ):
        if not cases and title in ("Others you are part of", "Closed"):
            continue
        body.append(text(title, weight="Bolder", separator=True))
        if not cases:
            body.append(text("None.", isSubtle=True))
        for case in cases[:15]:
            body.append({"type": "Container", "items": _case_lines(case, now)})
    return card(body, [raise_button()])


def facts(pairs: list[tuple[str, str]]) -> dict:
    return {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in pairs]}


def notice_card(notice: Notice) -> dict:
    """A message to one person, in the core's plain words (flows.notices): what happened, the case, what is asked
    of them and who to contact."""
    return card(
        [
            text(notice.lead, weight="Bolder"),
            facts(notice.facts),
            text(f"**What is asked of you:** {notice.asked}"),
            text(f"**Who to contact:** {notice.contact}", isSubtle=True),
        ]
    )


# ---------------------------------------------------------------- forms, drawn from flows.forms

# Teams shows a form's inputs; people are chosen from the organisation's directory (Microsoft Graph).
PEOPLE_PICKER = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}


def _input(field: forms.Field, value) -> dict:
    kind = field.kind
    common = {"id": field.id, "label": field.label, "isRequired": field.required}
    if field.required:
        common["errorMessage"] = f"{field.label}: please fill this in."
    options = [{"title": o.label, "value": o.value} for o in field.options]
    given = value if value not in (None, "", []) else field.initial or None
    if kind in (forms.Kind.TEXT, forms.Kind.LONG_TEXT, forms.Kind.EMAILS):
        found = {"type": "Input.Text", **common, "isMultiline": kind == forms.Kind.LONG_TEXT}
        if field.limit:
            found["maxLength"] = field.limit
        if field.placeholder:
            found["placeholder"] = field.placeholder
    elif kind in (forms.Kind.CHOICE, forms.Kind.RADIO, forms.Kind.CHOICES):
        found = {
            "type": "Input.ChoiceSet",
            **common,
            "choices": options,
            "style": "expanded" if kind == forms.Kind.RADIO else "compact",
            "isMultiSelect": kind == forms.Kind.CHOICES,
        }
        if isinstance(given, list):
            given = ",".join(given)
    elif kind == forms.Kind.TICK:
        found = {"type": "Input.Toggle", **common, "title": options[0]["title"], "valueOn": "yes", "valueOff": ""}
        given = "yes" if given in ("yes", ["yes"]) else None
    elif kind == forms.Kind.DATE:
        found = {"type": "Input.Date", **common}
    elif kind in (forms.Kind.PERSON, forms.Kind.PEOPLE):
        found = {
            "type": "Input.ChoiceSet",
            **common,
            "choices": [],
            "choices.data": PEOPLE_PICKER,
            "isMultiSelect": kind == forms.Kind.PEOPLE,
        }
        given = None  # a person picked in Teams is shown again by Teams, not by us
    else:
        raise ValueError(f"no Teams input for {kind}")
    if given not in (None, "", []):
        found["value"] = given
    return found


def form_card(
    form: forms.Form,
    submit: dict | None,
    *,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    cancel: dict | None = None,
) -> dict:
    """A form from flows.forms as a card: `submit` is its button (an Action.Submit in a dialog, an Action.Execute
    on a card), `values` what the person typed (shown again after a refusal), `errors` each field's refusal,
    shown under it."""
    values, errors = values or {}, errors or {}
    body: list[dict] = [heading(form.title)]
    for item in form.items:
        if isinstance(item, forms.Note):
            if item.heading:
                body.append(text(item.heading, weight="Bolder", separator=len(body) > 1))
            if item.text:
                body.append(text(item.text, spacing="Small" if item.heading else "Default"))
            continue
        body.append(_input(item, values.get(item.id)))
        if item.id in errors:
            body.append(text(errors[item.id], color="Attention", spacing="Small"))
    unplaced = [message for field, message in errors.items() if field not in {f.id for f in form.fields}]
    if unplaced:
        body.insert(1, text(" ".join(unplaced), color="Attention"))
    actions = [a for a in (submit, cancel) if a]
    return card(body, actions)


# ---------------------------------------------------------------- the case card, drawn from flows.cards

# The verbs of the card's Action.Execute buttons: open an action's form, submit it, or draw the card again.
OPEN, SUBMIT, REFRESH = "open", "submit", "refresh"


def execute(title: str, verb: str, data: dict, style: str = "") -> dict:
    action = {"type": "Action.Execute", "title": title, "verb": verb, "data": data}
    if style in ("positive", "destructive"):
        action["style"] = style
    return action


def words(pieces: says.Words) -> str:
    """Plain words with people in them: Teams names people (their chat is where the bot reaches them)."""
    return "".join(named(p) if isinstance(p, PersonRef) else p for p in pieces)


STYLES = {"primary": "positive", "danger": "destructive"}
# Teams shows a few buttons on a card and the rest under "…".
SHOWN_ACTIONS = 4


def case_card(found: says.Card, refresh_for: str | None, lead: Notice | str = "", problem: str = "") -> dict:
    """A reader's copy of the case card: the reader's own actions as Action.Execute buttons, and a refresh so
    Teams redraws it with their current actions when `refresh_for` (their Teams user id) looks at it. None: the
    partnership's post, which shows the team's shared actions."""
    case_data = {"r": found.reference, "v": found.version}
    body: list[dict] = []
    if problem:
        body.append(text(problem, color="Attention"))
    if isinstance(lead, Notice):
        body += lead_blocks(lead)
    elif lead:  # the words a direct message said above the card, kept when it is redrawn
        body.append(text(lead, weight="Bolder"))
    body += [
        heading(found.title),
        facts([(label, words(value)) for label, value in found.facts]),
    ]
    for title, value in found.sections:
        body += [text(title, weight="Bolder", spacing="Medium"), text(words(value), spacing="None")]
    if found.deadline is not None:
        body.append(text(found.deadline.words, color="Attention" if found.deadline.overdue else "Default"))
    actions = []
    for index, action in enumerate(found.actions):
        button = execute(action.label, f"{OPEN}:{action.id}", case_data, STYLES.get(action.style, ""))
        if index >= SHOWN_ACTIONS:
            button["mode"] = "secondary"
        actions.append(button)
    content = card(body, actions)
    if refresh_for:
        content["refresh"] = {"action": execute("Refresh", REFRESH, case_data), "userIds": [refresh_for]}
    return content


def lead_blocks(notice: Notice) -> list[dict]:
    """What a message says above the card: what happened, what was written, what is asked of the reader."""
    blocks = [text(notice.lead, weight="Bolder")]
    if notice.told:
        blocks.append(facts(notice.told))
    if notice.asked:
        asked = notice.asked if notice.asked == NOTHING_ASKED else f"What is asked of you: {notice.asked}"
        blocks.append(text(asked, isSubtle=notice.asked == NOTHING_ASKED))
    return blocks


def partnership_reply_card(notice: Notice) -> dict:
    """A step of the case, in the thread of its post in the CSCP channel."""
    body = [text(f"{notice.headline}. {notice.lead}".strip(), weight="Bolder")]
    if notice.told:
        body.append(facts(notice.told))
    return card(body)


def digest_card(digest) -> dict:
    """The weekly digest, in the CSCP channel."""
    body = [heading(f"Weekly digest, week of {digest.week_of}")]
    body.append(facts([(f"Stage {n}: {name}", str(count)) for n, name, count in digest.open_by_stage]))
    for title, lines in (("Overdue", digest.overdue), ("Due this week", digest.due_this_week)):
        body.append(text(title, weight="Bolder", separator=True))
        body.append(
            text(
                "\n".join(
                    f"- {line.reference}: Stage {line.stage} ({line.stage_name}), {line.raiser_agency} and "
                    f"{line.other_agency}, due {line.due_on}"
                    for line in lines
                )
                or "None.",
            )
        )
    if digest.closed:
        body.append(text("Closed this week", weight="Bolder", separator=True))
        body.append(
            text("\n".join(f"- {c.reference}: {c.status} at Stage {c.stage}. {c.outcome}" for c in digest.closed))
        )
    return card(body)


# ---------------------------------------------------------------- files in a personal chat
# A bot sends a file in a personal chat by Teams' file consent card: the person accepts, Teams gives the bot an
# upload session in their OneDrive (fileConsent/invoke), the bot puts the bytes there and shows the file info card.

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"


def file_consent(filename: str, description: str, size: int, context: dict) -> Attachment:
    """The card asking the reader to accept a file. `context` comes back on accept or decline: only the case's
    reference (or the report's period) and the document's kind, never anything about the child."""
    return Attachment(
        content_type=FILE_CONSENT,
        name=filename,
        content=FileConsentCard(
            description=description, size_in_bytes=size, accept_context=context, decline_context=context
        ),
    )


def file_info(upload: FileUploadInfo) -> Attachment:
    """The uploaded file, shown in the chat as Teams shows a file."""
    return Attachment(
        content_type=FILE_INFO,
        name=upload.name,
        content_url=upload.content_url,
        content=FileInfoCard(unique_id=upload.unique_id, file_type=upload.file_type),
    )
