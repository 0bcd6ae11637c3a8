"""Every Adaptive Card the Teams front-end sends, as JSON (schema 1.5, the newest Teams renders in bot messages).

Cards are built from the core's read models (flows.records, flows.queries) and its wording (flows.notices),
never from Slack's renderer. Each is checked against the Adaptive Card rules by the stand-in in the tests.
"""

from __future__ import annotations

from datetime import datetime

from microsoft_teams.cards import AdaptiveCard

from flows.notices import Notice, deadline_words, long_date, named
from flows.policy import Policy
from flows.queries import MyCases
from flows.records import CaseView

VERSION = "1.5"
# task/fetch with this dialog id opens the raise dialog (the gate questions, then the form).
RAISE_DIALOG = "raise"
LIST_WORD, RAISE_WORD = "list", "escalate"


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


def welcome_card(policy: Policy) -> dict:
    days = sorted({stage.working_days for stage in policy.stages})
    each = f"each due within {days[0]} working days" if len(days) == 1 else "each with its own deadline"
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
        ],
        [raise_button(), say_button("My cases", LIST_WORD)],
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


def case_card(case: CaseView, now: datetime, lead: str = "") -> dict:
    """A person's copy of the case card, redrawn in place as the case moves (update_activity). The reader's own
    Action.Execute buttons and the universal-actions refresh are for the journey to add."""
    stage = case.policy.stage(case.current_stage)
    pairs = [
        ("Reference", case.reference),
        ("Agencies", f"{case.raiser_agency} disagrees with {case.other_agency}"),
        ("Stage", f"Stage {case.current_stage} of {case.stage_count}: {stage.name}"),
    ]
    if case.is_open:
        when = deadline_words(case.policy, case.stage.due_at, now)
        pairs += [
            ("Deadline", when[:1].upper() + when[1:]),
            ("Held by", ", ".join(named(p) for p in case.stage.holders)),
        ]
    else:
        pairs.append(("Status", case.status.capitalize()))
    return card(([text(lead)] if lead else []) + [heading(case.reference), facts(pairs)])
