"""The weekly digest for the partnership team: figures from the cases the partnership may see.

No child's name is ever in it (none is held); cases appear by reference only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from flows import topics
from flows.context import Context
from flows.escalations import OUTCOME_KINDS
from flows.policies import name_unnamed_policies, policies_named
from flows.policy import Policy
from flows.records import DeadlineStatus
from storage.models import CaseStatus, DigestSent, Escalation, OutboxMessage, StageRecord


@dataclass(frozen=True)
class DigestLine:
    reference: str
    stage: int
    stage_name: str
    raiser_agency: str
    other_agency: str
    due_on: str
    working_days: int  # left, or over when overdue


@dataclass(frozen=True)
class DigestOutcome:
    reference: str
    stage: int
    status: str
    outcome: str
    key_learning: str


@dataclass(frozen=True)
class Digest:
    partnership: str
    week_of: str
    covers_from: str
    generated_at: str
    open_by_stage: list[tuple[int, str, int]] = field(default_factory=list)
    overdue: list[DigestLine] = field(default_factory=list)
    due_this_week: list[DigestLine] = field(default_factory=list)
    closed: list[DigestOutcome] = field(default_factory=list)
    by_theme: list[tuple[str, int]] = field(default_factory=list)
    by_agency_raising: list[tuple[str, int]] = field(default_factory=list)
    by_agency_receiving: list[tuple[str, int]] = field(default_factory=list)

    def to_payload(self) -> dict:
        # What asdict() returns, built without its deep copy of every value (20 ms at 2,000 lines).
        return {
            "partnership": self.partnership,
            "week_of": self.week_of,
            "covers_from": self.covers_from,
            "generated_at": self.generated_at,
            "open_by_stage": [tuple(x) for x in self.open_by_stage],
            "overdue": [dict(vars(line)) for line in self.overdue],
            "due_this_week": [dict(vars(line)) for line in self.due_this_week],
            "closed": [dict(vars(outcome)) for outcome in self.closed],
            "by_theme": [tuple(x) for x in self.by_theme],
            "by_agency_raising": [tuple(x) for x in self.by_agency_raising],
            "by_agency_receiving": [tuple(x) for x in self.by_agency_receiving],
        }

    @classmethod
    def from_payload(cls, data: dict) -> Digest:
        return cls(
            partnership=data["partnership"],
            week_of=data["week_of"],
            covers_from=data["covers_from"],
            generated_at=data["generated_at"],
            open_by_stage=[tuple(x) for x in data["open_by_stage"]],
            overdue=[DigestLine(**x) for x in data["overdue"]],
            due_this_week=[DigestLine(**x) for x in data["due_this_week"]],
            closed=[DigestOutcome(**x) for x in data["closed"]],
            by_theme=[tuple(x) for x in data["by_theme"]],
            by_agency_raising=[tuple(x) for x in data["by_agency_raising"]],
            by_agency_receiving=[tuple(x) for x in data["by_agency_receiving"]],
        )


@dataclass(frozen=True)
class _Row:
    """What the digest needs of one case and its current stage: a few columns, never the whole case."""

    reference: str
    status: str
    stage: int
    raiser_agency: str
    other_agency: str
    themes: list[str]
    policy: Policy
    stage_name: str
    due_at: datetime
    outcome_kind: str
    key_learning: str


def _line(row: _Row, now: datetime, statuses: dict) -> DigestLine:
    # Stages fall due at close of business, so many share a deadline: each is counted in working days once.
    key = (id(row.policy), row.due_at)
    if key not in statuses:
        statuses[key] = DeadlineStatus.of(row.policy, row.due_at, now)
    status = statuses[key]
    return DigestLine(
        row.reference,
        row.stage,
        row.stage_name,
        row.raiser_agency,
        row.other_agency,
        status.due_on.isoformat(),
        status.working_days_over if status.overdue else status.working_days_left,
    )


def _counted(values) -> list[tuple[str, int]]:
    return sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))


def _rows(ctx: Context, covers_from: datetime) -> list[_Row]:
    """The open cases and those closed since `covers_from`, with their current stage, that the partnership may
    see: two queries on indexed columns, so the cost follows the open workload and the week's closures, never
    the years of history. Whether the partnership may see a case is its own policy's rule: the first query
    finds the few distinct policies the cases were opened under, by digest (read and parsed once each, never
    per case), and the second reads only the cases at a stage their policy informs the partnership at."""
    counted = or_(Escalation.status == CaseStatus.OPEN, Escalation.closed_at >= covers_from)
    with ctx.db.read() as session:
        digests = session.exec(select(Escalation.policy_digest).where(counted).distinct()).all()
        if "" in digests:  # cases copied in without a digest: name them once
            name_unnamed_policies(ctx)
            return _rows(ctx, covers_from)
        policies = policies_named(session, digests)
        if not policies:
            return []
        # Only the cases at a stage the partnership is informed at, by their policy's rule, are read.
        visible = or_(
            *(
                (Escalation.policy_digest == digest)
                & (Escalation.current_stage >= policy.partnership_informed_from_stage)
                for digest, policy in policies.items()
            )
        )
        found = session.exec(
            select(
                Escalation.reference,
                Escalation.status,
                Escalation.current_stage,
                Escalation.raiser_agency,
                Escalation.other_agency,
                Escalation.themes,
                Escalation.policy_digest,
                StageRecord.name,
                StageRecord.due_at,
                StageRecord.outcome_kind,
                StageRecord.key_learning,
            )
            .join(
                StageRecord,
                (StageRecord.escalation_id == Escalation.id) & (StageRecord.number == Escalation.current_stage),
            )
            .where(counted, visible)
            .order_by(Escalation.id)
        ).all()
    return [_Row(*row[:6], policies[row[6]], *row[7:]) for row in found]


def build_digest(ctx: Context, covers_from: datetime, now: datetime, week_of: date | None = None) -> Digest:
    policy, calendar = ctx.policy, ctx.policy.working_calendar
    today = calendar.local_date(now)
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    visible = _rows(ctx, covers_from)
    open_cases = [r for r in visible if r.status == CaseStatus.OPEN]
    closed = [r for r in visible if r.status != CaseStatus.OPEN]
    overdue = [r for r in open_cases if now >= r.due_at]
    due_this_week = [
        r for r in open_cases if now < r.due_at and week_start <= calendar.local_date(r.due_at) <= week_end
    ]
    counted = open_cases + closed
    stage_counts = Counter(r.stage for r in open_cases)
    statuses: dict = {}
    return Digest(
        partnership=policy.partnership,
        week_of=(week_of or week_start).isoformat(),
        covers_from=covers_from.isoformat(),
        generated_at=now.isoformat(),
        open_by_stage=[
            (s.number, s.name, stage_counts.get(s.number, 0))
            for s in policy.stages
            if policy.partnership_informed_at(s.number)
        ],
        overdue=[_line(r, now, statuses) for r in sorted(overdue, key=lambda r: r.due_at)],
        due_this_week=[_line(r, now, statuses) for r in sorted(due_this_week, key=lambda r: r.due_at)],
        closed=[
            DigestOutcome(
                r.reference,
                r.stage,
                r.status,
                OUTCOME_KINDS.get(r.outcome_kind, "") if r.status != CaseStatus.WITHDRAWN else "Withdrawn",
                r.key_learning,
            )
            for r in closed
        ],
        by_theme=_counted(theme for r in counted for theme in r.themes),
        by_agency_raising=_counted(r.raiser_agency for r in counted),
        by_agency_receiving=_counted(r.other_agency for r in counted),
    )


def _send_at(ctx: Context, scheduled_day: date) -> datetime:
    """When the digest of the week of `scheduled_day` goes: on a bank holiday or outside working hours, at the
    next start of working hours."""
    calendar = ctx.policy.working_calendar
    return calendar.next_working_time(calendar.at_local(scheduled_day, ctx.policy.digest.at))


def digest_week_due(ctx: Context, now: datetime) -> date | None:
    """The week whose digest is due by `now` (its scheduled day), or None before the first one is due."""
    calendar, settings = ctx.policy.working_calendar, ctx.policy.digest
    today = calendar.local_date(now)
    scheduled_day = today - timedelta(days=(today.weekday() - settings.weekday_number) % 7)
    if now < _send_at(ctx, scheduled_day):
        scheduled_day -= timedelta(days=7)
    return scheduled_day


def _any_case_opened_before(ctx: Context, when: datetime) -> bool:
    with ctx.db.read() as session:
        return session.exec(select(Escalation.id).where(Escalation.opened_at < when).limit(1)).first() is not None


def digest_covers_from(ctx: Context, now: datetime) -> datetime:
    """A digest covers what happened since the last one was made (a week, before the first)."""
    with ctx.db.read() as session:
        last = session.exec(select(DigestSent).order_by(DigestSent.week_of.desc())).first()
    return last.recorded_at if last else now - timedelta(days=7)


def record_due_digest(ctx: Context) -> bool:
    """Write the digest due now to the outbox, once (a missed one goes when the bot is back); none for a week whose
    digest was due before the first case was raised."""
    now = ctx.clock.now()
    week_of = digest_week_due(ctx, now)
    with ctx.db.read() as session:
        if session.exec(select(DigestSent).where(DigestSent.week_of == week_of)).first():
            return False
    if not _any_case_opened_before(ctx, _send_at(ctx, week_of)):
        # Nothing had been raised by the time it was due: a digest of zeros for a week before the first case
        # says nothing. The first digest is the one after the first case.
        return False
    covers_from = digest_covers_from(ctx, now)
    digest = build_digest(ctx, covers_from, now, week_of)
    try:
        with ctx.db.transaction() as session:
            session.add(DigestSent(week_of=week_of, covers_from=covers_from, recorded_at=now))
            session.flush()
            session.add(
                OutboxMessage(
                    topic=topics.DIGEST, audience=topics.PARTNERSHIP, payload=digest.to_payload(), created_at=now
                )
            )
    except IntegrityError:
        return False  # another instance recorded it first
    return True


def digest_text(digest: Digest) -> str:
    """The digest as plain text, for the terminal (`escalation-bot digest --print`) and notifications."""

    def lines(items: list[DigestLine], over: bool) -> list[str]:
        return [
            f"  {i.reference}  Stage {i.stage} ({i.stage_name})  {i.raiser_agency} → {i.other_agency}  "
            f"due {i.due_on}, {i.working_days} working day{'s' if i.working_days != 1 else ''} "
            f"{'over' if over else 'left'}"
            for i in items
        ] or ["  none"]

    out = [f"{digest.partnership} escalations: week of {digest.week_of}", "", "Open, by stage:"]
    out += [f"  Stage {n} ({name}): {count}" for n, name, count in digest.open_by_stage]
    out += ["", "Overdue stages:"] + lines(digest.overdue, True)
    out += ["", "Due this week:"] + lines(digest.due_this_week, False)
    out += ["", "Closed since the last digest:"]
    out += [
        f"  {c.reference}  Stage {c.stage}  {c.outcome}"
        + (f"\n    Key learning: {c.key_learning}" if c.key_learning else "")
        for c in digest.closed
    ] or ["  none"]
    for title, counts in (
        ("By theme", digest.by_theme),
        ("By agency raising", digest.by_agency_raising),
        ("By agency receiving", digest.by_agency_receiving),
    ):
        out += ["", f"{title}:"] + ([f"  {name}: {count}" for name, count in counts] or ["  none"])
    return "\n".join(out)
