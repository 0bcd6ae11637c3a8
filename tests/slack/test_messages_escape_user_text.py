"""What people type is shown as they typed it: every free-text field, through every message and view the
Slack front-end builds, never becomes a mention, a channel ping or a disguised link."""

import json
from datetime import date

from bot.slack import messages
from flows import escalations as lifecycle
from flows import forms, topics
from flows import permissions as can
from flows.escalations import ActionForm
from flows.people import PersonRef
from flows.queries import history
from tests.conftest import CSCP_MEMBER, EXECUTIVE, MASH_WORKER, TEACHER, a_form
from tests.flows.steps import HOLDERS, formal_record, outcome

HOSTILE = "<!channel> <@U123> <https://x.example|y> & <!here>"
RAW = ("<!channel>", "<@U123>", "<https://x.example", "<!here>")


def hostile_case(ctx):
    """A case to Stage 5 and decided, with the hostile text in every field a person types."""
    case = lifecycle.open_escalation(
        ctx,
        TEACHER,
        a_form(
            key_dates=HOSTILE,
            evidence_of_need=HOSTILE,
            decision_disagreed=HOSTILE,
            interventions_to_date=HOSTILE,
            outcome_wanted=HOSTILE,
            raiser_role=HOSTILE,
            professionals=[MASH_WORKER, PersonRef.by_email("Pat <!channel>", "pat@nhs.net")],
        ),
        child_at_immediate_risk=False,
        discussed_with_manager=True,
    )
    ref = case.reference
    lifecycle.add_note(ctx, ref, MASH_WORKER, HOSTILE)
    lifecycle.ask_to_escalate(ctx, ref, MASH_WORKER, reason=HOSTILE)
    case = lifecycle.propose_resolution(
        ctx,
        ref,
        MASH_WORKER,
        version=lifecycle.view_case(ctx, ref, TEACHER).version,
        outcome=outcome(decision_outcome=HOSTILE, key_learning=HOSTILE),
    )
    case = lifecycle.answer_proposal(ctx, ref, TEACHER, version=case.version, accept=False, reason=HOSTILE)
    for number in (1, 2, 3, 4):
        raising, receiving = HOLDERS[number]
        if number == 3:
            case = lifecycle.request_reflective_consultation(ctx, ref, raising, version=case.version, note=HOSTILE)
            case = lifecycle.record_consultation(
                ctx, ref, CSCP_MEMBER, version=None, held_on=date(2026, 4, 1), agreed_actions=HOSTILE
            )
            lifecycle.chase(ctx, ref, CSCP_MEMBER, holder=raising, message=HOSTILE)
        record = {k: HOSTILE for k in formal_record(number)}
        nxt = HOLDERS.get(number + 1)
        case = lifecycle.escalate(
            ctx, ref, raising, version=case.version, reason=HOSTILE, next_holders=[nxt[0]] if nxt else [], **record
        )
        if nxt:
            case = lifecycle.name_holder(ctx, ref, receiving, version=case.version, holders=[nxt[1]])
    return lifecycle.record_executive_decision(
        ctx,
        ref,
        EXECUTIVE,
        version=case.version,
        outcome=outcome(
            5,
            decision_outcome=HOSTILE,
            key_learning=HOSTILE,
            nothing_outstanding=False,
            actions=[ActionForm(HOSTILE, MASH_WORKER, date(2026, 4, 8))],
        ),
    )


def test_every_free_text_field_is_shown_as_typed_everywhere(ctx, clock):
    case = hostile_case(ctx)
    now = clock.now()
    decided = case
    rendered = [
        messages.case_card(case, now, list(can.ACTIONS)),
        messages.partnership_post(case, now, list(can.ACTIONS)),
        messages.details_modal(case),
        messages.history_modal(case, history(ctx, case, CSCP_MEMBER)),
        *(
            messages.form_view(forms.case_form(ctx, action, case, CSCP_MEMBER))
            for action in (can.CORRECT_DETAILS, can.ASK_TO_ESCALATE, can.CHASE, can.HAND_OVER)
        ),
    ]
    payloads = {
        topics.REMINDER: {"stage": 5, "kind": "overdue"},
        topics.ACTION_DUE: {"action": case.actions[0].id},
        topics.CHASER: {"stage": 3, "message": HOSTILE},
    }
    for topic in (
        topics.ESCALATION_OPENED,
        topics.INVITED_TO_TALK,
        topics.STAGE_STARTED,
        topics.NAME_YOUR_HOLDER,
        topics.PROPOSAL_DECLINED,
        topics.ASKED_TO_ESCALATE,
        topics.HANDED_OVER_TO_YOU,
        topics.CHASER,
        topics.CONSULTATION_RECORDED,
        topics.SCRUTINEER_INFORMED,
        topics.REMINDER,
        topics.ACTION_DUE,
        topics.EXECUTIVE_DECISION,
        topics.ESCALATION_WITHDRAWN,
    ):
        rendered.append(messages.person_lead(topic, decided, payloads.get(topic, {"stage": 3}), now, MASH_WORKER))
    for topic in (
        topics.STAGE_STARTED,
        topics.CONSULTATION_RECORDED,
        topics.EXECUTIVE_DECISION,
        topics.ESCALATION_WITHDRAWN,
        topics.STAGE_OVERDUE,
        topics.REFLECTIVE_CONSULTATION_REQUESTED,
        topics.HOLDER_NAMED,
        topics.HANDED_OVER,
    ):
        for number in (3, 4, 5):
            rendered.append(messages.partnership_reply(topic, decided, {"stage": number, "note": HOSTILE}, now))
    text = json.dumps(rendered)
    for raw in RAW:
        assert raw not in text, raw
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x.example|y&gt; &amp; &lt;!here&gt;" in text
    assert text.count("&lt;!channel&gt;") > 40  # it really went through the builders
