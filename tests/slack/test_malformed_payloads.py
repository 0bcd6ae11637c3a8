"""Property: whatever a correctly signed request carries, the bot answers in time, never with a 5xx,
and changes nothing when it refuses.

The payloads start as the real ones of every kind the app receives (each /escalate text, each case
and home button, each view's submission built on the view the bot itself opened in the stand-in),
are mutated (keys dropped, types swapped, strings that are not JSON, huge strings, lone surrogates,
wrong ids, nested garbage), signed as Slack signs, and posted to the real app over HTTP.
`pytest tests/slack/test_malformed_payloads.py -s` prints how many were tried and how they fared.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections import Counter
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from bot.slack import failures
from tests.slack.conftest import PEOPLE
from tests.slack.harness import fill
from tests.slack.test_escalate_end_to_end import FORM, card_in

EXAMPLES = 400
ANSWER_SECONDS = 3.0  # Slack's limit for an answer
TABLES = ("escalation", "stage", "case_note", "outbox_message")
GATE = {"immediate_risk": "no", "discussed_with_manager": "yes"}


# ------------------------------------------------------------------ the real payloads


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"] if e.get("type") == "button"]


def plausible(view: dict, holder: str) -> dict:
    """Slack's state.values for the view with every input answered as a person might."""
    answers = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block["block_id"].endswith("_by_email"):
            continue  # the people are chosen in the picker beside the e-mail box
        element = block["element"]
        kind, options = element["type"], element.get("options") or [{"value": None}]
        answers[block["block_id"]] = {
            "plain_text_input": "Talked it through with both agencies.",
            "email_text_input": "pat@police.example",
            "static_select": options[-1]["value"],
            "radio_buttons": options[-1]["value"],
            "multi_static_select": [options[0]["value"]],
            "checkboxes": [options[0]["value"]],
            "multi_users_select": [holder],
            "users_select": holder,
            "datepicker": "2026-04-01",
        }[kind]
    return fill(view, answers)


async def real_payloads(running) -> list[tuple[str, dict]]:
    """(kind, payload) for everything the app receives, collected as a case goes from Stage 1 to 5."""
    slack, standin = running.slack, running.standin
    teacher = PEOPLE["teacher"].id
    found = [
        ("command", slack.command_fields(teacher, text))
        for text in ("", "help", "list", "ESC-2026-0001", "esc-2026-0001", "what")
    ]

    await slack.command(teacher)
    gate = standin.open_view(teacher)
    found.append(("interaction", slack.submission_payload(teacher, gate, fill(gate, GATE))))
    await slack.submit(teacher, GATE)
    form = standin.open_view(teacher)
    found.append(("interaction", slack.submission_payload(teacher, form, fill(form, FORM))))
    await slack.submit(teacher, FORM)
    await running.deliver()

    async def behind_the_buttons(user: str, blocks: list[dict], holder: str) -> None:
        """Every button of a card and the form behind it, collected, not submitted: the case moves on below."""
        for button in buttons(blocks):
            found.append(("interaction", slack.button_payload(user, button["action_id"], button.get("value", ""))))
            await slack.click(user, blocks, button["action_id"])
            view = standin.open_view(user)
            found.append(("interaction", slack.submission_payload(user, view, plausible(view, holder))))
            standin.close_views(user)

    async def act(who: str, action_id: str, holder: str) -> None:
        user = PEOPLE[who].id
        await slack.click(user, card_in(running.dms(who)).blocks, action_id)
        reply = await slack.submit_values(user, plausible(standin.open_view(user), PEOPLE[holder].id))
        assert reply.status == 200 and not reply.body.get("response_action"), reply.body
        await running.deliver()

    # Each side's holders and the partnership, at each stage: (raising, its next; receiving, its next).
    steps = [
        ("teacher", "head", "mash", "mash_manager"),
        ("head", "service_manager", "mash_manager", "mash_service"),
        ("service_manager", "director", "mash_service", "mash_director"),
    ]
    for stage, (raising, next_raising, receiving, next_receiving) in enumerate(steps, start=1):
        if stage in (1, 3):
            for who, holder in ((raising, next_raising), (receiving, next_receiving)):
                await behind_the_buttons(PEOPLE[who].id, card_in(running.dms(who)).blocks, PEOPLE[holder].id)
        if stage == 3:
            await behind_the_buttons(PEOPLE["cscp"].id, running.cscp_posts()[0].blocks, PEOPLE["director"].id)
        await act(raising, "case_escalate", next_raising)
        await act(receiving, "case_name_holder", next_receiving)
    await act("director", "case_escalate", "executive")
    await behind_the_buttons(
        PEOPLE["executive"].id, card_in(running.dms("executive")).blocks, PEOPLE["executive"].id
    )  # Stage 5: the Executive's decision

    home = await slack.open_home(teacher)
    found.append(("event", slack.home_event(teacher)))
    found += [
        ("interaction", slack.button_payload(teacher, b["action_id"], b.get("value", "")))
        for b in buttons(home["blocks"])
    ]
    callbacks = {p["view"]["callback_id"] for _, p in found if p.get("type") == "view_submission"}
    assert {
        "escalate_gate",
        "escalate_form",
        "case_note_view",
        "case_resolve_view",
        "case_escalate_view",
        "case_withdraw_view",
        "case_decision_view",
        "case_consultation_view",
        "case_propose_view",
        "case_ask_escalate_view",
        "case_record_consultation_view",
        "case_chase_view",
        "case_hand_over_view",
        "case_correct_view",
    } <= callbacks
    return found


# ------------------------------------------------------------------ mutations

LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
GARBAGE = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
NOT_JSON = st.sampled_from(
    [
        "{not json",
        "[",
        "",
        "null",
        "[1, 2]",
        '{"r": []}',
        '"ESC-2026-0001"',
        '{"r": "ESC-2026-0001", "v": 1e999}',
        '{"r": "ESC-2026-0001", "v": 1}',
        "\\ud800",
    ]
)
HUGE = st.sampled_from(["x" * 50_000, "é" * 20_000, "J" * 3_001, "ESC-2026-" + "9" * 5_000])
SURROGATES = st.lists(st.integers(0xD800, 0xDFFF).map(chr), min_size=1, max_size=4).map(
    lambda chars: "J.S." + "".join(chars)
)
WRONG_IDS = st.sampled_from(
    [
        "U0NOBODY",
        "UBOT",
        "W0X1",
        "U0STRANGER",
        "C0GENERAL",
        "D0NOWHERE",
        "case_unknown",
        "escalate_form",
        "case_note_view",
        "home_raise",
        "case_decision",
        "notice",
        "ESC-2099-9999",
        "app_home_opened",
        "view_submission",
        "block_actions",
        "",
    ]
)
NESTED = st.integers(2, 400).map(lambda depth: json.loads("[" * depth + "]" * depth))
REPLACEMENTS = st.one_of(GARBAGE, NOT_JSON, HUGE, SURROGATES, WRONG_IDS, NESTED)


def paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from paths(value, prefix + (key,))


def mutate(payload, path: tuple, replacement, drop: bool):
    if not path:
        return replacement
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        parent.pop(path[-1])
    else:
        parent[path[-1]] = replacement
    return payload


def body_of(kind: str, payload) -> tuple[str, str]:
    if kind == "command":
        fields = payload if isinstance(payload, dict) else {"payload": payload}
        text = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        return urlencode(text, errors="surrogatepass"), "application/x-www-form-urlencoded"
    if kind == "event":
        return json.dumps(payload), "application/json"
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


# ------------------------------------------------------------------ the property


def row_counts(running) -> dict[str, int]:
    with running.ctx.db.engine.connect() as connection:
        return {table: connection.execute(sql(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES}


def refused(status: int, body) -> bool:
    if status >= 400:
        return True
    body = body if isinstance(body, dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    return body.get("response_action") == "errors" or view.get("title", {}).get("text") == "Nothing was done"


class _Tally(logging.Handler):
    """Counts what the examples did, and keeps every failure the error handler caught."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.counts, self.caught = Counter(), []

    def emit(self, record):
        if record.name == failures.__name__:
            self.caught.append(record.getMessage())


@pytest.fixture
async def fuzz(running):
    tally = _Tally()
    logging.getLogger().addHandler(tally)
    try:
        yield running, await real_payloads(running), tally.counts
    finally:
        logging.getLogger().removeHandler(tally)
    counts = tally.counts
    print(
        f"\nmutated payloads tried: {counts['tried']}, 5xx: {counts['5xx']}, 4xx: {counts['4xx']}, "
        f"refused politely: {counts['refused'] - counts['4xx']}, accepted: {counts['accepted']}, "
        f"slowest answer: {counts['slowest ms']} ms"
    )
    # Every malformed shape is refused or read safely, not caught as a listener's failure.
    assert tally.caught == []


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
async def test_any_signed_payload_gets_a_clear_answer_in_time_and_a_refusal_changes_nothing(fuzz, data):
    running, originals, tally = fuzz
    kind, payload = copy.deepcopy(data.draw(st.sampled_from(originals), label="real payload"))
    if isinstance(payload.get("trigger_id"), str):  # a trigger as fresh as Slack's would be
        user = payload.get("user_id") or payload["user"]["id"]
        payload["trigger_id"] = running.standin.new_trigger_id(user)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(list(paths(payload))), label="at")
        drop = bool(path) and data.draw(st.booleans(), label="drop")
        payload = mutate(payload, path, None if drop else data.draw(REPLACEMENTS, label="with"), drop)
        if not isinstance(payload, (dict, list)):
            break

    await running.deliver()  # earlier examples' messages are out of the way
    before = row_counts(running)
    body, content_type = body_of(kind, payload)
    started = time.monotonic()
    reply = await asyncio.wait_for(running.slack.post(body, content_type), timeout=10)
    seconds = time.monotonic() - started

    tally["tried"] += 1
    tally["5xx"] += reply.status >= 500
    tally["4xx"] += 400 <= reply.status < 500
    tally["slowest ms"] = max(tally["slowest ms"], round(seconds * 1000))
    is_refused = refused(reply.status, reply.body)
    tally["refused" if is_refused else "accepted"] += 1
    assert reply.status < 500, reply.body
    assert seconds < ANSWER_SECONDS
    submission = isinstance(payload, dict) and payload.get("type") == "view_submission"
    if is_refused or not (submission or asks_for_a_document(payload)):
        # Only a form's submission changes a case; a paperwork button queues its file for the person who asked.
        assert row_counts(running) == before


def asks_for_a_document(payload) -> bool:
    actions = payload.get("actions") if isinstance(payload, dict) else None
    return isinstance(actions, list) and any(
        isinstance(a, dict) and a.get("action_id") in ("case_notification_form", "case_record_for_file")
        for a in actions
    )
