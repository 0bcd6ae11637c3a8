"""What a person is told about a case, in plain words for any channel that cannot show a card (e-mail).

A notice is plain text: no markup, no mentions; people by name and e-mail address. It states dates
only, never working days left: a notice is sent once and never redrawn. Whether it may carry the
case's details (the child's initials, the concern, anything people wrote) is decided in one place,
`may_carry_case_details`, by the recipient's address: only secure mail systems get them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flows import topics
from flows.escalations import ASKED_TO_ESCALATE_NOTE, OUTCOME_KINDS
from flows.identifiers import within_domains
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.permissions import RAISING, RECEIVING
from flows.policy import Policy
from flows.records import CaseView, DeadlineStatus, StageView

# Every topic that goes to a person, each with a notice.
PERSON_TOPICS = frozenset(
    {
        topics.ESCALATION_OPENED,
        topics.INVITED_TO_TALK,
        topics.STAGE_STARTED,
        topics.NAME_YOUR_HOLDER,
        topics.RESOLUTION_PROPOSED,
        topics.HANDED_OVER_TO_YOU,
        topics.REMINDER,
        topics.ACTION_DUE,
        topics.CHASER,
        topics.ASKED_TO_ESCALATE,
        topics.PROPOSAL_DECLINED,
        topics.HANDED_OVER,
        topics.CONSULTATION_RECORDED,
        topics.SCRUTINEER_INFORMED,
        topics.ESCALATION_RESOLVED,
        topics.ESCALATION_WITHDRAWN,
        topics.EXECUTIVE_DECISION,
    }
)
NOTHING_ASKED = "Nothing is asked of you: this is for your information."


@dataclass(frozen=True)
class Notice:
    subject: str
    lead: str
    facts: list[tuple[str, str]]
    asked: str
    contact: str
    # The subject without the reference: a heading for a chat message.
    headline: str = ""
    # What people wrote about this step (a reason, an outcome): only where the case's details may go.
    told: list[tuple[str, str]] = field(default_factory=list)


def may_carry_case_details(policy: Policy, email: str) -> bool:
    """May a message to `email` carry the child's initials, the concern and free text? Only to a secure domain."""
    _, at, domain = (email or "").strip().rpartition("@")
    return bool(at and domain) and within_domains(domain, policy.secure_mail_domains)


def named(person: PersonRef | None) -> str:
    """A person in plain words: name and e-mail address."""
    if person is None:
        return "someone"
    name = person.name or person.email or person.user_id
    return f"{name} ({person.email})" if person.email and person.email != name else name


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def due_when(policy: Policy, status: DeadlineStatus) -> str:
    """A deadline as a day, a date and an hour: "Tuesday 14 April 2026, 5pm"."""
    local = policy.working_calendar.local(status.due_at)
    hour = local.strftime("%I:%M%p").lstrip("0").replace(":00", "").lower()
    return f"{long_date(status.due_on)}, {hour}"


def dated_deadline(policy: Policy, status: DeadlineStatus) -> str:
    """Dates only, for what is never redrawn: "due …" or "was due …"."""
    when = due_when(policy, status)
    return f"was due {when}" if status.overdue else f"due {when}"


def deadline_words(policy: Policy, due_at: datetime, now: datetime) -> str:
    return dated_deadline(policy, DeadlineStatus.of(policy, due_at, now))


def overdue_by(policy: Policy, due_at: datetime, payload: dict, now: datetime) -> str:
    """How long a stage has been overdue on the day its prompt is for ("overdue by 4 working days"): counted to
    that day, not to when the message happens to go, so that it stays true. One prompt after downtime stands for
    every morning missed, and says so."""
    calendar = policy.working_calendar
    day = date.fromisoformat(payload["due_on"]) if payload.get("due_on") else calendar.local_date(now)
    days = max(calendar.working_days_between(calendar.local_date(due_at), day), 1)
    return f"overdue by {days} working day{'s' if days != 1 else ''}"


def _stage(case: CaseView, number: int) -> StageView:
    return next((s for s in case.stages if s.number == number), case.stage)


def _list(persons) -> str:
    return ", ".join(named(p) for p in persons) or "nobody named yet"


def _contact(case: CaseView, recipient: PersonRef) -> str:
    """Who the reader talks to: the other side's holders (the raiser for anyone else), and the partnership."""
    side = case.side_of(recipient)
    other = RECEIVING if side == RAISING else RAISING if side == RECEIVING else None
    people = case.acting_holders(other) if other else ()
    words = _list(people) if people else named(case.raiser)
    if case.policy.partnership_email:
        words += f"; the {case.policy.partnership} team ({case.policy.partnership_email})"
    return words


def _case_facts(case: CaseView) -> list[tuple[str, str]]:
    """The case's details: only for a recipient at a secure domain."""
    return [
        ("Child's initials", case.child_initials),
        ("Agency case reference", case.child_case_reference),
        ("Level of need", case.level_of_need),
        ("The decision or action disagreed with", case.decision_disagreed),
        ("Evidence of need", case.evidence_of_need),
        ("Key dates", case.key_dates),
        ("Interventions to date", case.interventions_to_date),
        ("The outcome wanted", case.outcome_wanted),
    ]


def person_notice(
    topic: str,
    case: CaseView,
    payload: dict,
    now: datetime,
    recipient: PersonRef,
    policy: Policy | None = None,
    *,
    details: bool | None = None,
) -> Notice:
    """The notice for `recipient` about `topic`. `details`: whether it may carry the case's details; by default
    decided by the recipient's address and the secure domains of `policy` (the one in force; the case's own copy
    when not given). A chat front-end, inside the partnership's own workspace, passes True."""
    if topic == topics.CONTACT_BY_HAND:
        return _by_hand(case, payload, now, recipient)
    if details is None:
        details = may_carry_case_details(policy or case.policy, recipient.email)
    number = payload.get("stage", case.current_stage)
    stage = _stage(case, number)
    title = f"Stage {number} ({stage.name}) of {case.reference}"
    headline, lead, asked, told = _words(topic, case, payload, now, number, title, stage)
    facts = [
        ("Reference", case.reference),
        ("Agencies", f"{case.raiser_agency} disagrees with {case.other_agency}"),
        ("Raised by", f"{named(case.raiser)}, {case.raiser_role}"),
        ("Stage", f"Stage {case.current_stage} of {case.stage_count}: {case.stage.name}"),
    ]
    if case.is_open:
        when = deadline_words(case.policy, case.stage.due_at, now)
        facts.append(("Deadline", when[:1].upper() + when[1:]))
    else:
        facts.append(("Status", case.status.capitalize()))
    told = [(label, value) for label, value in told if value] if details else []
    if details:
        facts += told + _case_facts(case)
    return Notice(
        subject=f"{case.reference}: {headline}",
        lead=lead,
        facts=facts,
        asked=asked,
        contact=_contact(case, recipient),
        headline=headline,
        told=told,
    )


def _by_hand(case: CaseView, payload: dict, now: datetime, raiser: PersonRef) -> Notice:
    """To the raiser, when the bot cannot tell someone something itself: they are named only by e-mail and the
    bot sends no e-mail, or their platform refused the message for good (`why`: the app not installed for them
    in Teams, say)."""
    platform, user_id = payload.get("platform", EMAIL_PLATFORM), payload.get("person", "")
    person = next(
        (p for p in case.people() if p.key == (platform, user_id)),
        PersonRef(platform, user_id, email=user_id if platform == EMAIL_PLATFORM else ""),
    )
    theirs = person_notice(payload.get("about", ""), case, payload, now, person, details=False)
    why = payload.get("why")
    because = (
        f"the bot could not reach them ({why})"
        if why
        else "they are named only by e-mail, and this bot does not send e-mail"
    )
    return Notice(
        subject=f"{case.reference}: please contact {named(person)}",
        headline=f"Please contact {named(person)}",
        lead=f"Please contact {named(person)} yourself about {case.reference}: {because}. Tell them: {theirs.lead}",
        facts=theirs.facts,
        asked=f"Contact them and pass this on. What is asked of them: {theirs.asked}",
        contact=theirs.contact,
    )


def _words(
    topic: str, case: CaseView, payload: dict, now: datetime, number: int, title: str, stage: StageView
) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(headline, lead, what is asked, what was written about this step: shown only with the case's details)."""
    policy = case.policy
    partnership = policy.partnership
    if topic == topics.ESCALATION_OPENED:
        return (
            "escalation opened at Stage 1",
            f"You raised {case.reference} under the {partnership} Escalation and Resolution policy. It is at "
            "Stage 1, where the practitioners involved talk to each other directly.",
            "Talk it through with the professionals named, and record each discussion on the case.",
            [],
        )
    if topic == topics.INVITED_TO_TALK:
        return (
            "invitation to talk a disagreement through (Stage 1)",
            f"{named(case.raiser)} ({case.raiser_role}, {case.raiser_agency}) disagrees with a decision or "
            f"action of {case.other_agency} and has raised {case.reference} under the {partnership} "
            "Escalation and Resolution policy. You are named as a professional involved.",
            f"Please get in touch with {named(case.raiser)} before the deadline to talk it through and "
            "understand each other's view. Most disagreements are resolved this way.",
            [],
        )
    if topic in (topics.STAGE_STARTED, topics.HANDED_OVER_TO_YOU):
        lead = (
            f"The holder's role at {title} has been handed over to you."
            if topic == topics.HANDED_OVER_TO_YOU
            else f"You now hold {title}, raised by {named(case.raiser)}."
        )
        return (
            f"you hold Stage {number}",
            lead,
            "Please talk it through with the other agency's holder of this stage and agree a way forward "
            "before the deadline.",
            [("Why it was escalated", stage.escalation_reason)],
        )
    if topic == topics.NAME_YOUR_HOLDER:
        agency = case.raiser_agency if payload.get("side", RECEIVING) == RAISING else case.other_agency
        return (
            f"please name your Stage {number} holder",
            f"{case.reference} has gone to Stage {number} ({stage.name}). Each agency takes part at this level.",
            f"Please name who holds Stage {number} for {agency} (the next level of seniority). Until "
            "someone is named, reminders come to you.",
            [],
        )
    if topic == topics.RESOLUTION_PROPOSED:
        proposal = case.pending_proposal or case.proposals[-1]
        kind = OUTCOME_KINDS.get(proposal.outcome.get("outcome_kind", ""), "")
        return (
            "a resolution is proposed",
            f"{named(proposal.proposed_by)} proposes that {case.reference} is resolved: {kind}.",
            "The concern is your side's, so it is yours to accept or decline. Please give your answer "
            "before the deadline.",
            [("The proposed outcome", proposal.outcome.get("decision_outcome", ""))],
        )
    if topic == topics.PROPOSAL_DECLINED:
        proposal = case.proposals[-1]
        by = named(proposal.answered_by) if proposal.answered_by else "the raising side"
        return (
            "the proposed resolution was declined",
            f"The proposed resolution of {case.reference} was declined by {by}.",
            "Please talk it through again before the deadline, or the case may go to the next stage.",
            [("Why it was declined", proposal.decline_reason)],
        )
    if topic == topics.ASKED_TO_ESCALATE:
        note = next((n for n in reversed(case.notes) if n.kind == ASKED_TO_ESCALATE_NOTE), None)
        who = named(note.author) if note else "The receiving side"
        return (
            f"you are asked to escalate to Stage {number + 1}",
            f"{who} asks you to take {case.reference} to Stage {number + 1}.",
            "If you agree, escalate it to the next level; if not, tell them why.",
            [("Their reason", note.text if note else "")],
        )
    if topic == topics.HANDED_OVER:
        return (
            f"Stage {number} was handed over",
            f"The holder's role at {title} was handed over. Stage {number} is now held by {_list(stage.holders)}.",
            NOTHING_ASKED,
            [],
        )
    if topic == topics.CHASER:
        return (
            "the partnership asks for an update",
            f"The {partnership} team asks for an update on {title}, which {deadline_words(policy, stage.due_at, now)}.",
            f"Please send the {partnership} team an update on where it stands.",
            [("Their message", payload.get("message") or "")],
        )
    if topic == topics.CONSULTATION_RECORDED:
        if stage.consultation_held_on:
            status = f"was held on {long_date(stage.consultation_held_on)}"
        elif stage.consultation_arranged_for:
            status = f"is arranged for {long_date(stage.consultation_arranged_for)}"
        else:
            status = "has been requested"
        return (
            "reflective group consultation",
            f"A multi-agency reflective group consultation on {case.reference} {status}.",
            f"If you are invited, please take part; the {partnership} team arranges it.",
            [("Agreed actions", stage.consultation_actions)],
        )
    if topic == topics.SCRUTINEER_INFORMED:
        return (
            f"reached Stage {number}",
            f"For your information as Independent Scrutineer: {case.reference} ({case.raiser_agency} and "
            f"{case.other_agency}) has reached {title}, for {policy.executive_name} to decide.",
            NOTHING_ASKED,
            [],
        )
    if topic == topics.REMINDER:
        if payload.get("kind") == "overdue":
            over = overdue_by(policy, stage.due_at, payload, now)
            return (
                f"Stage {number} is {over}",
                f"{title} is past its deadline: it {deadline_words(policy, stage.due_at, now)}, and is {over}.",
                "Please agree the outcome or escalate it now.",
                [],
            )
        return (
            f"reminder, Stage {number} {deadline_words(policy, stage.due_at, now)}",
            f"Reminder: {title} {deadline_words(policy, stage.due_at, now)}.",
            "Please agree the outcome before then, or escalate it.",
            [],
        )
    if topic == topics.ACTION_DUE:
        action = next(a for a in case.actions if a.id == payload.get("action"))
        return (
            "an agreed action is due",
            f"An action agreed on {case.reference} is yours, due {long_date(action.due_on)}.",
            "Please carry it out, and tell the people on the case when it is done.",
            [("The action", action.what)],
        )
    last = case.stage
    if topic in (topics.ESCALATION_RESOLVED, topics.EXECUTIVE_DECISION):
        verb = "decided" if topic == topics.EXECUTIVE_DECISION else "resolved"
        actions = "; ".join(f"{a.what} ({named(a.owner)}, by {long_date(a.due_on)})" for a in case.actions)
        return (
            verb,
            f"{case.reference} was {verb} at Stage {last.number}: {OUTCOME_KINDS.get(last.outcome_kind, '')}."
            + _outcome_by(last),
            "Please record the outcome on the child's record in your agency.",
            [
                ("Decision or outcome", last.decision_outcome),
                ("Key learning", last.key_learning),
                ("Agreed actions", actions),
            ],
        )
    if topic == topics.ESCALATION_WITHDRAWN:
        return (
            "withdrawn",
            f"{case.reference} was withdrawn at Stage {last.number}.",
            "Nothing more is asked of you on it.",
            [("Why", case.withdrawal_reason)],
        )
    if topic == topics.DOCUMENT:
        what = (
            "The Escalation Notification Form"
            if payload.get("kind") == "notification_form"
            else "The record of the case for your agency's file"
        )
        return (
            "a document for you",
            f"{what} for {case.reference} is ready, but could not be sent to you in chat.",
            f"Please ask {partnership} ({policy.partnership_email or 'the partnership team'}) for a copy.",
            [],
        )
    raise ValueError(f"no notice for {topic}")


def stage_record(stage: StageView) -> list[tuple[str, str]]:
    """The notification form's questions for one stage: resolved, concerns, decision or outcome, key learning."""
    record = [("Resolved", "yes" if stage.resolved else "no")]
    record += [
        (label, value)
        for label, value in (
            ("Concerns", stage.concerns),
            ("Decision or outcome", stage.decision_outcome),
            ("Key learning", stage.key_learning),
        )
        if value
    ]
    return record


def _outcome_by(stage: StageView) -> str:
    if stage.ended_by is None:
        return ""
    words = f" Recorded by {named(stage.ended_by)}"
    return words + (f", agreed with {_list(stage.agreed_with)}." if stage.agreed_with else ".")


def partnership_notice(topic: str, case: CaseView, payload: dict, now: datetime) -> Notice:
    """A step of a case, told to the partnership team in the case's thread. Dates only: it is never redrawn.
    The team sees the case's details: `told` carries what people wrote."""
    policy = case.policy
    calendar = policy.working_calendar
    number = payload.get("stage", case.current_stage)
    stage = _stage(case, number)
    last = case.stage
    told: list[tuple[str, str]] = []
    if topic == topics.STAGE_STARTED:
        headline = f"Stage {number} ({stage.name}) started"
        lead = (
            f"On {long_date(calendar.local_date(stage.started_at))}, held by {_list(stage.holders)}, "
            f"due {long_date(calendar.local_date(stage.due_at))}."
        )
        told = [("Why", stage.escalation_reason)]
        previous = next((s for s in case.stages if s.number == number - 1), None)
        # The notification form asks, for each stage, whether it was resolved and what was learnt.
        if previous:
            told.append((f"Stage {previous.number}", " ".join(f"{k}: {v}." for k, v in stage_record(previous))))
    elif topic == topics.HOLDER_NAMED:
        agency = case.raiser_agency if payload.get("side", RECEIVING) == RAISING else case.other_agency
        headline = f"Stage {number} holder named"
        lead = f"{agency} named its Stage {number} holder: {_list(stage.side(payload.get('side', RECEIVING)))}."
    elif topic == topics.HANDED_OVER:
        headline = f"Stage {number} handed over"
        lead = f"The holder's role was handed over. Now held by {_list(stage.holders)}."
    elif topic == topics.CONSULTATION_RECORDED:
        headline = "Reflective group consultation"
        if stage.consultation_held_on:
            lead = f"Held {long_date(stage.consultation_held_on)}."
            told = [("Agreed actions", stage.consultation_actions)]
        elif stage.consultation_arranged_for:
            lead = f"Arranged for {long_date(stage.consultation_arranged_for)}."
        else:
            lead = "Requested."
    elif topic in (topics.ESCALATION_RESOLVED, topics.EXECUTIVE_DECISION):
        headline = f"{'Decided' if topic == topics.EXECUTIVE_DECISION else 'Resolved'} at Stage {last.number}"
        lead = f"{OUTCOME_KINDS.get(last.outcome_kind, '')}.{_outcome_by(last)}"
        told = stage_record(last)
        if case.actions:
            told.append(
                (
                    "Agreed actions",
                    "; ".join(f"{a.what} ({named(a.owner)}, by {long_date(a.due_on)})" for a in case.actions),
                )
            )
    elif topic == topics.ESCALATION_WITHDRAWN:
        headline = f"Withdrawn at Stage {last.number}"
        lead = ""
        told = [("Why", case.withdrawal_reason)]
    elif topic == topics.STAGE_OVERDUE:
        headline = f"Stage {number} ({stage.name}) is overdue"
        lead = f"It was due {long_date(calendar.local_date(stage.due_at))}; held by {_list(stage.holders)}."
    elif topic == topics.REFLECTIVE_CONSULTATION_REQUESTED:
        headline = "A multi-agency reflective group consultation is requested"
        lead = (
            f"The {policy.partnership} Manager arranges it with the Children's Social Care Systemic Lead. "
            "Record it with Record consultation on the case's post."
        )
        told = [("Their note", payload.get("note") or "")]
    else:
        raise ValueError(f"no partnership notice for {topic}")
    return Notice(
        subject=f"{case.reference}: {headline}",
        lead=lead,
        facts=[],
        asked=NOTHING_ASKED,
        contact="",
        headline=headline,
        told=[(label, value) for label, value in told if value],
    )


def plain_text(notice: Notice) -> str:
    """The notice as a plain-text message body."""
    facts = "\n".join(f"{label}: {value}" for label, value in notice.facts)
    return f"{notice.lead}\n\n{facts}\n\nWhat is asked of you: {notice.asked}\n\nWho to contact: {notice.contact}\n"
