"""Every form a person fills in, as any front-end shows it and submits it.

What a form asks is a specification (`Form`: fields with an id, a label, a kind, options, whether required,
a limit and a hint), built here from the case and the policy; each front-end draws it in its own way (Block Kit,
an Adaptive Card). What its answers do is one function, `submit` (or `raise_escalation` for the raise form),
from the answers to the lifecycle call. Answers are keyed by field id: text, a list of choices, an ISO date, or
the people a front-end resolved from its own person picker (PERSON and PEOPLE fields). Every person field has an
e-mail companion (`by_email`), so anyone can be named by address, several at once where several may be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.utils import getaddresses
from enum import StrEnum
from typing import Any

from flows import escalations as lifecycle
from flows import permissions as can
from flows import validation
from flows.context import Context
from flows.errors import Refused
from flows.escalations import CORRECTABLE, NOTE_KINDS, OUTCOME_KINDS, ActionForm, EscalationForm, OutcomeForm
from flows.notices import dated_deadline, long_date, named
from flows.people import PersonRef, by_email
from flows.permissions import RAISING, RECEIVING, SIDE_ROLE
from flows.policy import Policy
from flows.records import CaseView


class Kind(StrEnum):
    """What a field asks for. A front-end draws each kind with its own nearest control."""

    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # several lines
    EMAILS = "emails"  # e-mail addresses, "Name <address>" or bare, separated by commas
    CHOICE = "choice"  # one of a list
    CHOICES = "choices"  # several of a list
    RADIO = "radio"  # one of a few, all shown
    TICK = "tick"  # a single box to tick; its answer is a list holding "yes" when ticked
    DATE = "date"
    PERSON = "person"  # one person from the front-end's directory
    PEOPLE = "people"  # several people from the front-end's directory


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: Kind
    options: tuple[Option, ...] = ()
    required: bool = True
    # The policy's own limit, in characters; a front-end with a smaller limit applies its own.
    limit: int | None = None
    hint: str = ""
    initial: str = ""
    placeholder: str = ""


@dataclass(frozen=True)
class Note:
    """Words between fields: a heading and plain text (no markup)."""

    text: str
    heading: str = ""


@dataclass(frozen=True)
class Form:
    """A form, or, with no `submit`, a notice that only closes."""

    id: str
    title: str
    items: tuple[Field | Note, ...]
    submit: str = ""
    # What the answers act on: the case as the person saw it (its version), and the side a form is for.
    reference: str = ""
    version: int | None = None
    side: str | None = None

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(item for item in self.items if isinstance(item, Field))


# Actions whose form acts on the case as the reader saw it (its version): a click on an older card changes nothing.
VERSIONED_ACTIONS = frozenset(
    {
        can.RESOLVE,
        can.PROPOSE_RESOLUTION,
        can.ANSWER_PROPOSAL,
        can.ESCALATE,
        can.WITHDRAW,
        can.EXECUTIVE_DECISION,
        can.REQUEST_CONSULTATION,
        can.NAME_HOLDER,
        can.HAND_OVER,
    }
)
# The forms that are not actions on a case.
GATE_FORM = "gate"
RAISE_FORM = "raise"
NOTICE_FORM = "notice"
# Rows for agreed actions on a resolution: what, who, by when.
ACTION_ROWS = 3
MAX_PEOPLE = 10
# Fields that name several people, and fields that name one (each with its e-mail companion, `by_email`).
PEOPLE_FIELDS = frozenset({"professionals", "next_holders", "other_side_holders", "holders"})
PERSON_FIELDS = frozenset({"to_person", *(f"action_{row}_owner" for row in range(1, ACTION_ROWS + 1))})
# Fields that choose one of the case's current holders, by person_choice(); the front-end passes the value back.
HOLDER_CHOICE_FIELDS = frozenset({"holder", "from_person"})


def person_choice(person: PersonRef) -> str:
    """The value of a choice among the case's holders (see HOLDER_CHOICE_FIELDS)."""
    return f"{person.platform}|{person.user_id}"


def _chosen(value: Any) -> PersonRef:
    platform, _, user_id = str(value or "").partition("|")
    return PersonRef(platform, user_id)


def _addresses(answers: dict, field_id: str, many: bool) -> list[PersonRef]:
    """People named by address in a person field's e-mail companion: "Dr A Khan <a.khan@nhs.net>, b@x.org"."""
    # Outlook separates addresses with semicolons; people copy them from there.
    text = _text(answers, by_email(field_id)).replace(";", ",")
    if not text.strip():
        return []
    found = getaddresses([text])
    if not found or any(not address for _, address in found):
        raise Refused(
            "Give e-mail addresses separated by commas, such as a.khan@nhs.net, b.lee@croydon.gov.uk.",
            field=by_email(field_id),
        )
    if not many and len(found) > 1:
        raise Refused("Give one e-mail address here.", field=by_email(field_id))
    for _, address in found:
        validation.email(address, by_email(field_id))
    return [PersonRef.by_email(name, address) for name, address in found]


def people(answers: dict, field_id: str) -> list[PersonRef]:
    """Everyone a PEOPLE field names: chosen in the front-end's directory, then by e-mail address."""
    chosen = [p for p in answers.get(field_id) or [] if isinstance(p, PersonRef)]
    return chosen + _addresses(answers, field_id, many=True)


def person(answers: dict, field_id: str) -> PersonRef | None:
    """The one person a PERSON field names, chosen or by address; both at once is a mistake, said at the field."""
    chosen = answers.get(field_id)
    chosen = chosen if isinstance(chosen, PersonRef) else None
    addressed = _addresses(answers, field_id, many=False)
    if chosen and addressed:
        raise Refused("Choose a person or give an e-mail address, not both.", field=by_email(field_id))
    return chosen or (addressed[0] if addressed else None)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None  # the lifecycle asks for the date again, at its field


def _text(answers: dict, field: str) -> str:
    value = answers.get(field)
    return value if isinstance(value, str) else ""


def _outcome(answers: dict) -> OutcomeForm:
    return OutcomeForm(
        outcome_kind=_text(answers, "outcome_kind"),
        concerns=_text(answers, "concerns"),
        decision_outcome=_text(answers, "decision_outcome"),
        key_learning=_text(answers, "key_learning"),
        outcome_date=_date(answers.get("outcome_date")),
        actions=[
            ActionForm(
                _text(answers, f"action_{row}_what"),
                person(answers, f"action_{row}_owner"),
                _date(answers.get(f"action_{row}_due")),
            )
            for row in range(1, ACTION_ROWS + 1)
        ],
        nothing_outstanding="yes" in (answers.get("nothing_outstanding") or []),
    )


def submit(
    ctx: Context, action: str, reference: str, actor: PersonRef, version: int | None, answers: dict[str, Any]
) -> CaseView:
    """Take `action` on the case with the form's `answers`. Refused, at the field that is wrong, or done."""
    if action in VERSIONED_ACTIONS and version is None:
        # It acts on the case as the reader saw it: a form that does not say which version is not one of ours.
        raise Refused("That form could not be read. Please open it again from the latest card.")
    if action == can.NOTE:
        return lifecycle.add_note(
            ctx, reference, actor, _text(answers, "note_text"), _text(answers, "note_kind") or "discussion"
        )
    if action == can.RESOLVE:
        return lifecycle.resolve(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.PROPOSE_RESOLUTION:
        return lifecycle.propose_resolution(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.EXECUTIVE_DECISION:
        return lifecycle.record_executive_decision(ctx, reference, actor, version=version, outcome=_outcome(answers))
    if action == can.ANSWER_PROPOSAL:
        accept = {"accept": True, "decline": False}.get(_text(answers, "answer"))
        return lifecycle.answer_proposal(
            ctx, reference, actor, version=version, accept=accept, reason=_text(answers, "decline_reason")
        )
    if action == can.ESCALATE:
        return lifecycle.escalate(
            ctx,
            reference,
            actor,
            version=version,
            reason=_text(answers, "reason"),
            next_holders=people(answers, "next_holders"),
            other_side_holders=people(answers, "other_side_holders"),
            concerns=_text(answers, "concerns"),
            decision_outcome=_text(answers, "decision_outcome"),
            key_learning=_text(answers, "key_learning"),
        )
    if action == can.ASK_TO_ESCALATE:
        return lifecycle.ask_to_escalate(ctx, reference, actor, reason=_text(answers, "reason"))
    if action == can.NAME_HOLDER:
        return lifecycle.name_holder(
            ctx,
            reference,
            actor,
            version=version,
            holders=people(answers, "holders"),
            side=_text(answers, "side") or None,
        )
    if action == can.WITHDRAW:
        return lifecycle.withdraw(ctx, reference, actor, version=version, reason=_text(answers, "reason"))
    if action == can.REQUEST_CONSULTATION:
        return lifecycle.request_reflective_consultation(
            ctx, reference, actor, version=version, note=_text(answers, "consultation_note")
        )
    if action == can.RECORD_CONSULTATION:
        return lifecycle.record_consultation(
            ctx,
            reference,
            actor,
            version=None,
            arranged_for=_date(answers.get("consultation_arranged_for")),
            held_on=_date(answers.get("consultation_held_on")),
            agreed_actions=_text(answers, "consultation_actions"),
        )
    if action == can.CHASE:
        return lifecycle.chase(
            ctx, reference, actor, holder=_chosen(answers.get("holder")), message=_text(answers, "chase_message")
        )
    if action == can.HAND_OVER:
        to_person = person(answers, "to_person")
        if to_person is None:
            raise Refused("Choose who takes over.", field="to_person")
        return lifecycle.hand_over(
            ctx, reference, actor, version=version, from_person=_chosen(answers.get("from_person")), to_person=to_person
        )
    if action == can.CORRECT_DETAILS:
        return lifecycle.correct_details(
            ctx, reference, actor, field_name=_text(answers, "field_name"), value=_text(answers, "value")
        )
    raise Refused("That form is not one of ours.")


# ---------------------------------------------------------------- raising an escalation


def raise_escalation(
    ctx: Context, raiser: PersonRef, answers: dict[str, Any], submission_key: str | None = None
) -> CaseView:
    """Open a case from the raise form's answers, with the gate's answers carried in them. The same form
    submitted again (`submission_key`: the front-end's id for that form) answers with the case it opened."""
    form = EscalationForm(
        child_initials=_text(answers, "child_initials"),
        child_case_reference=_text(answers, "child_case_reference"),
        level_of_need=_text(answers, "level_of_need"),
        raiser_role=_text(answers, "raiser_role"),
        raiser_agency=_text(answers, "raiser_agency"),
        other_agency=_text(answers, "other_agency"),
        themes=[t for t in answers.get("themes") or [] if isinstance(t, str)],
        key_dates=_text(answers, "key_dates"),
        evidence_of_need=_text(answers, "evidence_of_need"),
        decision_disagreed=_text(answers, "decision_disagreed"),
        interventions_to_date=_text(answers, "interventions_to_date"),
        outcome_wanted=_text(answers, "outcome_wanted"),
        professionals=people(answers, "professionals"),
        age_band=_text(answers, "age_band"),
        gender=_text(answers, "gender"),
        ethnicity=_text(answers, "ethnicity"),
        send=_text(answers, "send"),
    )
    return lifecycle.open_escalation(
        ctx,
        raiser,
        form,
        child_at_immediate_risk={"yes": True, "no": False}.get(_text(answers, "immediate_risk")),
        discussed_with_manager=_text(answers, "discussed_with_manager") == "yes",
        submission_key=submission_key,
    )


GATE_FIELDS = ("immediate_risk", "discussed_with_manager")
YES_NO = (Option("yes", "Yes"), Option("no", "No"))


def gate_form() -> Form:
    """The policy's two questions before anything is written: immediate risk, and a talk with a manager."""
    return Form(
        GATE_FORM,
        "Raise an escalation",
        (
            Note(
                "The escalation policy is for a professional disagreement with another agency's decision or action "
                "about a child. It is not a complaints procedure."
            ),
            Field(
                "immediate_risk",
                "Is a child at immediate risk of harm?",
                Kind.RADIO,
                YES_NO,
                hint="If yes, act now: do not wait for this process.",
            ),
            Field(
                "discussed_with_manager",
                "Have you discussed your concern with your line manager or safeguarding lead?",
                Kind.RADIO,
                YES_NO,
            ),
        ),
        submit="Next",
    )


def notice(title: str, text: str) -> Form:
    return Form(NOTICE_FORM, title, (Note(text),))


def after_gate(policy: Policy, answers: dict[str, Any]) -> Form | None:
    """What the gate's answers lead to: guidance that ends here (nothing is saved), or None for the form."""
    if _text(answers, "immediate_risk") == "yes":
        return notice("Act now", f"{policy.immediate_risk.guidance}\n\nNothing has been saved.")
    if _text(answers, "discussed_with_manager") != "yes":
        return notice(
            "Talk it through first",
            "Before an escalation starts, talk your concern through with your line manager or safeguarding lead. "
            "If the concern is still there after that, raise it again. Nothing has been saved.",
        )
    return None


def _choice(field_id: str, label: str, values: list[str], **kwargs: Any) -> Field:
    return Field(field_id, label, Kind.CHOICE, tuple(Option(v, v) for v in values), **kwargs)


def _long(field_id: str, label: str, policy: Policy, **kwargs: Any) -> Field:
    return Field(field_id, label, Kind.LONG_TEXT, limit=policy.free_text_limit, **kwargs)


def _people_fields(field_id: str, label: str, *, many: bool = True, required: bool = True, hint: str = "") -> tuple:
    """A person picker and its e-mail companion. Either may be used, so neither is required of the front-end:
    the lifecycle says at the field when nobody is named."""
    kind, email_label = (
        (Kind.PEOPLE, "Or by e-mail (several: separate them with commas)") if many else (Kind.PERSON, "Or by e-mail")
    )
    picker = Field(field_id, label, kind, required=False, hint=hint)
    email = Field(
        by_email(field_id), email_label, Kind.EMAILS, required=False, limit=2000, placeholder="name@agency.org"
    )
    return (picker, email)


def raise_form(policy: Policy, role: str = "", agency: str = "") -> Form:
    """The escalation form: the notification form's questions about the child, the raiser and the concern."""
    lists = policy.lists
    return Form(
        RAISE_FORM,
        "Raise an escalation",
        (
            Note(
                "Use initials and your agency's case reference only: never a name or address. The full record stays "
                "on your agency's system. Postcodes, dates of birth, NHS and phone numbers are refused, but a name "
                "cannot be spotted automatically: never type one, here or below.",
                heading="About the child",
            ),
            Field("child_initials", "Child's initials", Kind.TEXT, limit=12, placeholder="J.S."),
            Field("child_case_reference", "Your agency's case reference for the child", Kind.TEXT, limit=60),
            _choice("level_of_need", "Level of need", lists.levels_of_need),
            Note("Remembered for next time.", heading="About you"),
            Field("raiser_role", "Your role", Kind.TEXT, limit=200, initial=role),
            _choice("raiser_agency", "Your agency", lists.agencies, initial=agency),
            Note("", heading="Who the disagreement is with"),
            _choice("other_agency", "Their agency", lists.agencies),
            *_people_fields(
                "professionals",
                "The professional(s) involved",
                required=False,
                hint="They will get a message inviting them to talk it through with you.",
            ),
            Note("As specific and evidence-based as you can make it.", heading="The concern"),
            Field(
                "themes",
                "What the disagreement is about",
                Kind.CHOICES,
                tuple(Option(t, t) for t in lists.themes),
                placeholder="Choose one or more",
            ),
            _long("key_dates", "Key dates", policy),
            _long("evidence_of_need", "Evidence of need", policy),
            _long("decision_disagreed", "The decision or action you disagree with", policy),
            _long("interventions_to_date", "Summary of interventions to date", policy),
            _long("outcome_wanted", "The outcome you want", policy),
            Note("", heading="Optional, for the partnership's reports only"),
            _choice("age_band", "Age band", lists.age_bands, required=False),
            _choice("gender", "Gender", lists.genders, required=False),
            _choice("ethnicity", "Ethnicity", lists.ethnicities, required=False),
            _choice("send", "Special educational needs or disability (SEND)", lists.send_answers, required=False),
        ),
        submit="Raise",
    )


def raised_notice(case: CaseView, now: datetime) -> Form:
    return notice(
        "Escalation raised",
        f"{case.reference} is open at Stage 1, {dated_deadline(case.policy, case.deadline_status(now))}. "
        "Your case card is in your messages from the bot. Record each discussion on it.",
    )


def refused_notice(refused: Refused) -> Form:
    return notice("Nothing was done", refused.message)


# ---------------------------------------------------------------- the forms behind a case's actions

FORM_TITLES = {
    can.NOTE: ("Add a note", "Submit"),
    can.RESOLVE: ("Resolved", "Record"),
    can.PROPOSE_RESOLUTION: ("Propose a resolution", "Propose"),
    can.EXECUTIVE_DECISION: ("Record the decision", "Record"),
    can.ANSWER_PROPOSAL: ("Answer the proposal", "Answer"),
    can.ESCALATE: ("Escalate to Stage {next}", "Escalate"),
    can.ASK_TO_ESCALATE: ("Ask them to escalate", "Send"),
    can.NAME_HOLDER: ("Name the holder", "Name"),
    can.WITHDRAW: ("Withdraw", "Withdraw"),
    can.REQUEST_CONSULTATION: ("Reflective consultation", "Request"),
    can.RECORD_CONSULTATION: ("Record consultation", "Record"),
    can.CHASE: ("Chase a holder", "Send"),
    can.HAND_OVER: ("Hand over", "Hand over"),
    can.CORRECT_DETAILS: ("Correct details", "Correct"),
}


def stage_title(case: CaseView, number: int | None = None) -> str:
    number = number or case.current_stage
    return f"Stage {number} of {case.stage_count}: {case.policy.stage(number).name}"


def _agency_of(case: CaseView, side: str) -> str:
    return case.raiser_agency if side == RAISING else case.other_agency


def _intro(case: CaseView, text: str = "") -> Note:
    return Note(text, heading=f"{case.reference} · {stage_title(case)}")


def _holder_choice(field_id: str, label: str, holders: list[PersonRef]) -> Field:
    return Field(field_id, label, Kind.CHOICE, tuple(Option(person_choice(p), named(p)) for p in holders))


def case_form(ctx: Context, action: str, case: CaseView, actor: PersonRef) -> Form:
    """The form for `action` on `case`, as `actor` may fill it in (their side, the holders they may choose)."""
    roles = lifecycle.roles_on(ctx, case, actor)
    own_sides = [side for side, role in SIDE_ROLE.items() if role in roles]
    partnership = can.PARTNERSHIP_TEAM in roles
    side = None
    if action == can.NOTE:
        items = _note_items(case)
    elif action in (can.RESOLVE, can.PROPOSE_RESOLUTION, can.EXECUTIVE_DECISION):
        items = _outcome_items(case, case.policy.working_calendar.local_date(ctx.clock.now()), action)
    elif action == can.ANSWER_PROPOSAL:
        items = _answer_proposal_items(case)
    elif action == can.ESCALATE:
        items = _escalate_items(case, RECEIVING if own_sides == [RECEIVING] else RAISING)
    elif action == can.ASK_TO_ESCALATE:
        items = (
            _intro(
                case,
                f"{case.raiser_agency} decides whether to escalate. Tell them why you think it should go to the "
                "next stage.",
            ),
            _long("reason", "Why it should go to the next stage", case.policy),
        )
    elif action == can.NAME_HOLDER:
        sides = [s for s in case.awaited_sides if s in own_sides or partnership] or list(case.awaited_sides)
        side = sides[0] if len(sides) == 1 else None
        items = _name_holder_items(case, sides)
    elif action == can.WITHDRAW:
        items = (_intro(case, "Withdrawing closes the case."), _long("reason", "Why is it withdrawn?", case.policy))
    elif action == can.REQUEST_CONSULTATION:
        items = (
            Note(
                "A multi-agency reflective group consultation helps when a case is stuck. A service manager requests "
                f"it via the {case.policy.partnership} Manager; the Children's Social Care Systemic Lead facilitates "
                f"it. The request is posted to the {case.policy.partnership} team."
            ),
            _long("consultation_note", "Anything the facilitator should know", case.policy, required=False),
        )
    elif action == can.RECORD_CONSULTATION:
        items = _record_consultation_items(case)
    elif action == can.CHASE:
        holders = list(case.stage.holders) or [p for s in case.awaited_sides for p in case.acting_holders(s)]
        items = (
            _intro(case, "The holder gets a direct message asking for an update, with the deadline."),
            _holder_choice("holder", "Who to chase", holders),
            Field("chase_message", "Your message (optional)", Kind.LONG_TEXT, required=False, limit=1000),
        )
    elif action == can.HAND_OVER:
        holders = [p for s in (RAISING, RECEIVING) if s in own_sides or partnership for p in case.stage.side(s)]
        items = (
            _intro(
                case,
                "For leave or a change of job: the colleague takes over the holder's role at this stage. "
                "Both agencies are told.",
            ),
            _holder_choice("from_person", "Whose role", holders),
            *_people_fields("to_person", "Hand over to", many=False),
        )
    elif action == can.CORRECT_DETAILS:
        items = (
            _intro(
                case,
                "Correct a mistake, such as a name typed where initials belong. The new text replaces the old "
                "everywhere; the record shows that the detail was corrected, not what it said.",
            ),
            Field(
                "field_name", "Which detail", Kind.CHOICE, tuple(Option(k, label) for k, label in CORRECTABLE.items())
            ),
            _long("value", "The correct text", case.policy),
        )
    else:
        raise ValueError(f"no form for {action}")
    title, submit_label = FORM_TITLES[action]
    return Form(
        action,
        title.format(next=case.current_stage + 1),
        tuple(items),
        submit=submit_label,
        reference=case.reference,
        version=case.version,
        side=side,
    )


def _note_items(case: CaseView) -> tuple:
    return (
        _intro(case),
        Field(
            "note_kind",
            "What was it?",
            Kind.CHOICE,
            tuple(Option(k, v) for k, v in NOTE_KINDS.items()),
            initial="discussion",
        ),
        _long("note_text", "What was discussed or agreed", case.policy),
    )


def _outcome_items(case: CaseView, today: date, action: str) -> tuple:
    """Resolved, a proposed resolution, or the Executive's decision: the notification form's questions for the
    stage, and how outstanding issues will be pursued (what, who, by when)."""
    policy = case.policy
    intro = {
        can.RESOLVE: "Record how the disagreement was resolved at this stage. This closes the case, and both "
        "sides are told.",
        can.PROPOSE_RESOLUTION: "Propose that the disagreement is resolved. The raising side is asked to accept "
        "it; if they do, the case closes with both your names on the outcome.",
        can.EXECUTIVE_DECISION: f"Record the decision of {policy.executive_name}. This closes the case.",
    }[action]
    items: list = [
        _intro(case, intro),
        Field("outcome_kind", "Outcome", Kind.RADIO, tuple(Option(k, v) for k, v in OUTCOME_KINDS.items())),
    ]
    if policy.stage(case.current_stage).formal and not policy.executive_holds(case.current_stage):
        items.append(
            _long(
                "concerns",
                "The concerns, as they stand",
                policy,
                hint="Key dates, evidence of need, the key procedural issue or disagreement.",
            )
        )
    items += [
        _long("decision_outcome", "Decision or outcome", policy),
        _long("key_learning", "Summary of key learning", policy),
        Field("outcome_date", "Date", Kind.DATE, initial=today.isoformat()),
        Note(
            "What, who and by when. The people named are reminded on the date.",
            heading="How will outstanding issues be pursued?",
        ),
    ]
    for row in range(1, ACTION_ROWS + 1):
        items += [
            Field(f"action_{row}_what", f"Action {row}: what", Kind.TEXT, required=False, limit=1000),
            *_people_fields(f"action_{row}_owner", f"Action {row}: who", many=False),
            Field(f"action_{row}_due", f"Action {row}: by when", Kind.DATE, required=False),
        ]
    items.append(
        Field("nothing_outstanding", "Or", Kind.TICK, (Option("yes", "Nothing is outstanding"),), required=False)
    )
    return tuple(items)


def _answer_proposal_items(case: CaseView) -> tuple:
    proposal = case.pending_proposal
    outcome = proposal.outcome
    actions = [f"{a['what']}, by {long_date(date.fromisoformat(a['due_on']))}" for a in outcome.get("actions", [])] or [
        "Nothing is outstanding."
    ]
    return (
        _intro(case, f"{named(proposal.proposed_by)} proposes that it is resolved."),
        Note(f"{OUTCOME_KINDS.get(outcome.get('outcome_kind', ''), '')}", heading="Outcome"),
        Note(outcome.get("decision_outcome", ""), heading="Decision or outcome"),
        Note(outcome.get("key_learning", ""), heading="Key learning"),
        Note("\n".join(f"• {line}" for line in actions), heading="Agreed actions"),
        Field(
            "answer",
            "Your answer",
            Kind.RADIO,
            (Option("accept", "Accept: the concern is resolved"), Option("decline", "Decline")),
        ),
        _long("decline_reason", "If you decline, why", case.policy, required=False),
    )


def _escalate_items(case: CaseView, own_side: str) -> tuple:
    policy = case.policy
    next_stage = policy.stage(case.current_stage + 1)
    to_executive = next_stage.holders == "executive"
    items: list = [
        _intro(
            case,
            f"Moves to Stage {next_stage.number}: {next_stage.name}, held by {next_stage.held_by}. "
            f"The {next_stage.working_days} working days start again.",
        ),
        _long(
            "reason",
            "Your request to the Executive Group: the concerns, the supporting evidence and what you ask them to "
            "consider"
            if to_executive
            else "What was discussed at this stage, and why it is not resolved",
            policy,
        ),
    ]
    if not to_executive:
        other = RECEIVING if own_side == RAISING else RAISING
        items += _people_fields(
            "next_holders",
            f"Who holds Stage {next_stage.number} for {_agency_of(case, own_side)}",
            hint=f"Usually {next_stage.held_by}.",
        )
        if next_stage.holders == "escalating_side_names_both":
            items += _people_fields(
                "other_side_holders", f"Who holds Stage {next_stage.number} for {_agency_of(case, other)}"
            )
        else:
            items.append(
                Note(f"{_agency_of(case, other)} will be asked to name their own Stage {next_stage.number} holder.")
            )
    formal = policy.stage(case.current_stage).formal
    items += [
        _long("concerns", "The concerns, as they stand", policy, required=formal),
        _long("decision_outcome", "Decision or outcome at this stage, so far", policy, required=formal),
        _long("key_learning", "Key learning so far", policy, required=formal),
    ]
    return tuple(items)


def _name_holder_items(case: CaseView, sides: list[str]) -> tuple:
    items: list = [
        _intro(
            case,
            "Name who holds this stage for the agency, at this stage's level: "
            f"{case.policy.stage(case.current_stage).held_by}.",
        )
    ]
    if len(sides) > 1:
        items.append(
            Field("side", "For which agency", Kind.CHOICE, tuple(Option(s, _agency_of(case, s)) for s in sides))
        )
    items += _people_fields("holders", f"Who holds Stage {case.current_stage}")
    return tuple(items)


def _record_consultation_items(case: CaseView) -> tuple:
    stage = case.stage
    if stage.consultation_arranged_for:
        status = f"arranged for {long_date(stage.consultation_arranged_for)}."
    else:
        status = "requested."
    arranged = stage.consultation_arranged_for.isoformat() if stage.consultation_arranged_for else ""
    return (
        _intro(
            case,
            f"Reflective group consultation: {status} Fill in what has happened; the stage holders are told.",
        ),
        Field("consultation_arranged_for", "Arranged for", Kind.DATE, required=False, initial=arranged),
        Field("consultation_held_on", "Held on", Kind.DATE, required=False),
        _long("consultation_actions", "Actions agreed at the consultation", case.policy, required=False),
    )
