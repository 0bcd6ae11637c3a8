"""The tables. A child is held as initials plus the agency's case reference, nothing more.

There is deliberately no column for a child's full name, address or date of birth.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class CaseStatus:
    OPEN, RESOLVED, WITHDRAWN, CLOSED = "open", "resolved", "withdrawn", "closed"


class DeliveryStatus:
    PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class ProposalStatus:
    PENDING, ACCEPTED, DECLINED, LAPSED = "pending", "accepted", "declined", "lapsed"


def _when(**kwargs: Any):
    return Field(sa_type=UTCDateTime, **kwargs)


class Person(SQLModel, table=True):
    """Anyone in an escalation, on any platform: ('slack', 'U123'), ('teams', '29:…'), ('email', 'a@b')."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    platform_user_id: str = Field(max_length=255)
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=255)
    # Asked once, remembered for the next escalation this person raises.
    role: str = Field(default="", max_length=200)
    agency: str = Field(default="", max_length=200)
    # Their own choice: every message the bot sends them in chat comes by e-mail as well (to `email`).
    email_copies: bool = False


class Account(SQLModel, table=True):
    """One of a person's accounts: Slack, Teams or e-mail. A person's row names the one they are messaged
    on; every account they act from finds the same person, so permissions follow the person."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=20)
    platform_user_id: str = Field(max_length=255)
    # Where the platform takes a message to this account unprompted (Teams: the personal chat with the bot,
    # learned when the app is installed for the person). Empty until known.
    chat_user_id: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})
    conversation_id: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})
    service_url: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    tenant_id: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class ReferenceCounter(SQLModel, table=True):
    """Hands out ESC-<year>-<n> references, one sequence a year."""

    __tablename__ = "reference_counter"

    year: int = Field(primary_key=True)
    last: int = 0


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"
    # What the due-work pass reads of the open cases: which policy, which stage (migration 0013).
    __table_args__ = (Index("ix_escalation_due_work", "status", "policy_digest", "current_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(index=True, unique=True, max_length=20)
    # The policy this case was opened under, as JSON: a later change of the file does not touch it.
    policy_snapshot: str = Field(sa_column=Column(Text, nullable=False))
    # The snapshot's SHA-256: names the policy without reading it (set on insert, see _name_the_policy).
    policy_digest: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    status: str = Field(default="open", index=True, max_length=20)  # open, resolved, withdrawn, closed
    current_stage: int = 1
    # Every change bumps the version; an action taken on an older view of the case changes nothing.
    version: int = 1

    child_initials: str = Field(max_length=12)
    child_case_reference: str = Field(max_length=60)
    age_band: str = Field(default="", max_length=30)
    gender: str = Field(default="", max_length=40)
    ethnicity: str = Field(default="", max_length=80)
    send: str = Field(default="", max_length=20)
    level_of_need: str = Field(max_length=75)

    raiser_id: int = Field(foreign_key="person.id")
    raiser_role: str = Field(max_length=200)
    raiser_agency: str = Field(max_length=75)
    other_agency: str = Field(max_length=75)
    themes: list[str] = Field(default_factory=list, sa_type=JSON)

    key_dates: str = Field(sa_column=Column(Text, nullable=False))
    evidence_of_need: str = Field(sa_column=Column(Text, nullable=False))
    decision_disagreed: str = Field(sa_column=Column(Text, nullable=False))
    interventions_to_date: str = Field(sa_column=Column(Text, nullable=False))
    outcome_wanted: str = Field(sa_column=Column(Text, nullable=False))

    opened_at: datetime = _when()
    closed_at: datetime | None = _when(default=None, index=True)
    withdrawal_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The form this case was raised from (platform and view): a second or replayed submission opens nothing new.
    submission_key: str | None = Field(default=None, unique=True, max_length=120)
    # When the retention rule erased its free text, initials and agency reference.
    erased_at: datetime | None = _when(default=None)


class EscalationProfessional(SQLModel, table=True):
    """A professional at the other agency whom the disagreement is with."""

    __tablename__ = "escalation_professional"
    __table_args__ = (UniqueConstraint("escalation_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class StageRecord(SQLModel, table=True):
    """One stage of one case: who held it, when it started, its deadline, how it ended."""

    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("escalation_id", "number"),
        # The current stages (not ended), by deadline: what the due-work pass reads (migration 0013).
        Index(
            "ix_stage_current",
            "due_at",
            "escalation_id",
            "number",
            "started_at",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    number: int
    name: str = Field(max_length=100)
    started_at: datetime = _when()
    due_at: datetime = _when(index=True)
    started_by_id: int = Field(foreign_key="person.id")
    # Why the case came to this stage (empty at Stage 1).
    escalation_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))

    ended_at: datetime | None = _when(default=None)
    # Working days from its start to its end, counted when it ended (by the case's calendar), so reports sum
    # them instead of counting days for every stage. Empty for stages ended before it was kept.
    working_days_taken: int | None = None
    # resolved, escalated, withdrawn, executive_decision
    ended_how: str = Field(default="", max_length=30)
    resolved: bool | None = None
    # decision_changed, decision_upheld, action_agreed
    outcome_kind: str = Field(default="", max_length=30)
    decision_outcome: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    key_learning: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    outcome_date: date | None = None
    reflective_consultation_requested_at: datetime | None = _when(default=None)
    # The reflective group consultation as the partnership records it.
    consultation_arranged_for: date | None = None
    consultation_held_on: date | None = None
    consultation_actions: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The notification form's "brief description of concerns" as they stand at the end of a formal stage.
    concerns: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    ended_by_id: int | None = Field(default=None, foreign_key="person.id")
    # The other side's people named on the outcome: the proposer, or the receiving side's holders.
    agreed_with_ids: list[int] = Field(default_factory=list, sa_type=JSON)


class StageHolder(SQLModel, table=True):
    """Who holds a stage, for which side: 'raising', 'receiving', or 'partnership' (the Executive)."""

    __tablename__ = "stage_holder"
    __table_args__ = (UniqueConstraint("stage_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    side: str = Field(default="raising", max_length=20)
    # A holder who handed the role to a colleague stays on the record but no longer holds it.
    handed_over_at: datetime | None = _when(default=None)


class ResolutionProposal(SQLModel, table=True):
    """The receiving side proposes that the concern is resolved; the raising side accepts or declines."""

    __tablename__ = "resolution_proposal"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    stage_number: int
    proposed_by_id: int = Field(foreign_key="person.id")
    proposed_at: datetime = _when()
    outcome: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=20)  # pending, accepted, declined
    answered_by_id: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = _when(default=None)
    decline_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class AgreedAction(SQLModel, table=True):
    """How an outstanding issue will be pursued: what, who, by when (the policy asks for it in writing)."""

    __tablename__ = "agreed_action"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    stage_number: int
    what: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(foreign_key="person.id")
    due_on: date = Field(index=True)
    created_at: datetime = _when()


class CaseNote(SQLModel, table=True):
    """A discussion, call or meeting recorded on the case."""

    __tablename__ = "case_note"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    stage_number: int
    author_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _when()


class AuditEvent(SQLModel, table=True):
    """Who did what, when. Never updated or deleted (enforced by the ORM and, on SQLite, by triggers)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = _when()
    action: str = Field(max_length=40)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxMessage(SQLModel, table=True):
    """A message the bot owes someone, written in the same transaction as the change that implies it.

    audience: 'person' (recipient_id), 'partnership' (the partnership team's channel),
    or 'cards' (refresh every copy of the case card).
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int | None = Field(default=None, foreign_key="escalation.id", index=True)
    topic: str = Field(max_length=40)
    audience: str = Field(max_length=20)
    recipient_id: int | None = Field(default=None, foreign_key="person.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _when()
    status: str = Field(default="pending", index=True, max_length=20)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime | None = _when(default=None)
    last_error: str = Field(default="", max_length=500)
    sent_at: datetime | None = _when(default=None)
    # While 'sending': who holds the claim, as the instance's stable name and the nonce of the start
    # that claimed it (next_attempt_at is then the end of the lease). See bot.outbox.
    claimed_by: str = Field(default="", sa_column_kwargs={"server_default": ""}, max_length=200)
    claimed_start: str = Field(default="", sa_column_kwargs={"server_default": ""}, max_length=40)


class ChatMessage(SQLModel, table=True):
    """Where a message about a case was posted, so it can be updated in place."""

    __tablename__ = "chat_message"
    __table_args__ = (UniqueConstraint("platform", "channel", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    platform: str = Field(max_length=20)
    kind: str = Field(max_length=30)  # card, partnership_post
    channel: str = Field(max_length=100)
    message_id: str = Field(max_length=100)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    # The words above a card in a direct message, kept so that updating the card keeps them.
    lead: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # A hash of what the message last said (flows.posts.content_hash): an update that would not change it is skipped.
    content_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class HomeViewer(SQLModel, table=True):
    """Someone who has the bot's home view open on a platform (Slack's App Home), with their filters: kept
    in the database so every running instance keeps it current."""

    __tablename__ = "home_viewer"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    user_id: str = Field(max_length=255)
    case_filter: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    opened_at: datetime = _when()
    # A hash of the view last published to them: publishing it again unchanged is skipped.
    content_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class ReminderSent(SQLModel, table=True):
    """The ledger of reminders: the unique key makes a second send of the same reminder impossible."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("escalation_id", "stage_number", "kind", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    stage_number: int
    kind: str = Field(max_length=30)
    due_on: date
    recorded_at: datetime = _when()


class DueWorkDone(SQLModel, table=True):
    """One reminder of one policy (a kind, for a day) written for every stage it was due to: later passes skip
    it. For reminders only a saving: the ledger above is what keeps each reminder to one. For the day's card
    redraw (kind "day_refresh") it is the ledger itself: written in the redraw's transaction."""

    __tablename__ = "due_work_done"
    __table_args__ = (UniqueConstraint("policy_digest", "kind", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_digest: str = Field(max_length=64)
    kind: str = Field(max_length=30)
    due_on: date
    recorded_at: datetime = _when()


class DigestSent(SQLModel, table=True):
    """One row per weekly digest: the unique week makes a second post of the same digest impossible."""

    __tablename__ = "digest_sent"

    id: int | None = Field(default=None, primary_key=True)
    week_of: date = Field(unique=True)
    covers_from: datetime = _when()
    recorded_at: datetime = _when()


class ReportSent(SQLModel, table=True):
    """One row per scheduled themes report in the partnership's channel: the unique period makes a second post
    of the same report impossible."""

    __tablename__ = "report_sent"

    id: int | None = Field(default=None, primary_key=True)
    period_start: date = Field(unique=True)
    period_end: date
    recorded_at: datetime = _when()


# What the retention rule erases: everything written about the child, table by table. What is left is
# anonymous (dates, agencies, themes, level of need, outcome kind) and still counts in the figures.
CHILD_TEXT_COLUMNS: dict[type[SQLModel], tuple[str, ...]] = {
    Escalation: (
        "child_initials",
        "child_case_reference",
        "key_dates",
        "evidence_of_need",
        "decision_disagreed",
        "interventions_to_date",
        "outcome_wanted",
        "withdrawal_reason",
    ),
    StageRecord: ("escalation_reason", "concerns", "decision_outcome", "key_learning", "consultation_actions"),
    CaseNote: ("text",),
    ResolutionProposal: ("outcome", "decline_reason"),
    AgreedAction: ("what",),
    ChatMessage: ("lead",),
    OutboxMessage: ("payload",),
}
# The one change the audit trail allows: its detail replaced by this, by the retention rule.
ERASED_AUDIT_DETAIL = '{"erased": true}'


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_immutable(mapper, connection, target):
    raise RuntimeError("audit events are never changed or deleted")


def policy_digest(snapshot: str) -> str:
    """The name of a policy snapshot: its SHA-256, in hex (migration 0013 computes the same)."""
    return hashlib.sha256(snapshot.encode("utf-8")).hexdigest()


@event.listens_for(Escalation, "before_insert")
def _name_the_policy(mapper, connection, target):
    target.policy_digest = policy_digest(target.policy_snapshot)
