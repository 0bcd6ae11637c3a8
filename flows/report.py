"""The themes report, for the Quality Improvement Group and the Annual Report: the partnership's figures for a
period, every stage from the first, by theme, agency, level of need, stage reached, outcome, time taken,
overdue stages, reflective consultations, key learning and the equality fields.

Cases count when they were opened in the period (London dates, both ends included). Every figure is an
aggregate SQL query (GROUP BY), so the report costs the same memory at 100,000 cases as at 100; the key
learning, a list, keeps the latest entries under each theme. Any count from 1 to 4 is shown as "<5" before it leaves
this module, so no writer can show it: no child can be singled out. Cases erased under the retention rule
still count, from the dates, agencies, themes, level of need and outcome that remain (their key learning is
gone). Only the partnership team may have the report; every request is audited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from sqlalchemy import Column, Integer, MetaData, Table, and_, case, func, select, true
from sqlmodel import Session

from flows import permissions as can
from flows.context import Context
from flows.errors import Refused
from flows.escalations import OUTCOME_KINDS, ROLE_WORDS
from flows.people import PersonRef
from flows.persons import person_row
from flows.policy import Policy
from storage.models import AuditEvent, CaseStatus, Escalation, StageRecord
from storage.types import UTCDateTime

SUPPRESSED = "<5"
SMALLEST_SHOWN = 5
# The key learning listed under each theme, newest first: enough to read, and the same at any number of cases.
KEY_LEARNING_PER_THEME = 200


def shown(count: int) -> int | str:
    """A count as the report may show it: 1 to 4 become "<5" (0 singles nobody out)."""
    return SUPPRESSED if 0 < count < SMALLEST_SHOWN else count


@dataclass(frozen=True)
class Sheet:
    """One breakdown: a sheet of the workbook, a CSV file, and (with `chart`) a chart."""

    name: str  # the sheet's name (at most 31 characters, as Excel allows)
    title: str
    header: tuple[str, ...]
    rows: list[tuple] | Iterator[tuple]
    # The chart: which columns hold the values plotted against the first column; none for a listing.
    chart_columns: tuple[int, ...] = ()
    value_label: str = "Cases"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    def bounds(self, policy: Policy) -> tuple[datetime, datetime]:
        calendar = policy.working_calendar
        return calendar.at_local(self.start, time(0)), calendar.at_local(self.end + timedelta(days=1), time(0))

    @property
    def words(self) -> str:
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


@dataclass
class Report:
    partnership: str
    period: Period
    generated_at: datetime
    sheets: list[Sheet] = field(default_factory=list)


# ---------------------------------------------------------------- who may have it


def check_may_have_report(ctx: Context, requester: PersonRef | None, period: Period, via: str = "command line") -> None:
    """Only the partnership team (by the policy's table) may have the report. Every request is audited, a refusal
    too; `requester` None is the bot itself, `via` saying how (the operator's command line, the scheduled post)."""
    allowed = requester is None or (
        ctx.is_partnership_member(requester) and can.PARTNERSHIP_TEAM in ctx.policy.permissions[can.REPORT]
    )
    detail = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    with ctx.db.transaction() as session:
        actor = person_row(session, requester).id if requester is not None else None
        if requester is None:
            detail["via"] = via
        session.add(
            AuditEvent(
                actor_id=actor,
                at=ctx.clock.now(),
                action=can.REPORT if allowed else "refused",
                detail=detail if allowed else {**detail, "attempted": can.REPORT},
            )
        )
    if not allowed:
        roles = " or ".join(ROLE_WORDS[r] for r in ctx.policy.permissions[can.REPORT]) or "nobody"
        raise Refused(f"Only {roles} can have the themes report.", reason="not_allowed")


# ---------------------------------------------------------------- the figures


@contextlib.contextmanager
def themes_report(
    ctx: Context, requester: PersonRef | None, period: Period, via: str = "command line"
) -> Iterator[Report]:
    """The report for `period`, its sheets ready to write. The key learning is read while the report is open."""
    if period.end < period.start:
        raise Refused("The period ends before it starts.", field="to")
    check_may_have_report(ctx, requester, period, via)
    policy, now = ctx.policy, ctx.clock.now()
    with ctx.db.transaction() as session:
        figures = _Figures(session, policy, period, now)
        report = Report(policy.partnership, period, now)
        report.sheets = [
            figures.summary(),
            figures.by_theme(),
            figures.by_agency(),
            figures.by_level_of_need(),
            figures.by_stage_reached(),
            figures.by_outcome(),
            figures.working_days(),
            figures.overdue(),
            figures.consultations(),
            figures.key_learning(),
            *figures.equality(),
        ]
        yield report


class _Figures:
    def __init__(self, session: Session, policy: Policy, period: Period, now: datetime):
        self.session, self.policy, self.period, self.now = session, policy, period, now
        self.opened_from, self.opened_before = period.bounds(policy)
        self.in_period = and_(Escalation.opened_at >= self.opened_from, Escalation.opened_at < self.opened_before)
        self.total = self.session.execute(select(func.count()).select_from(Escalation).where(self.in_period)).scalar()

    def _counts(self, column, *, join_theme: bool = False) -> dict[str, int]:
        query = select(column, func.count()).select_from(Escalation)
        if join_theme:
            query = query.join(self._themes, true())
        rows = self.session.execute(query.where(self.in_period).group_by(column)).all()
        return {value: count for value, count in rows}

    def _counts_of(self, *columns) -> dict[str, dict]:
        """Each column's counts, from one scan grouped by all of them (columns of few values each, so the
        groups stay few), instead of one scan a column."""
        rows = self.session.execute(
            select(*columns, func.count()).select_from(Escalation).where(self.in_period).group_by(*columns)
        ).all()
        counts: dict[str, dict] = {column.key: {} for column in columns}
        for *values, count in rows:
            for column, value in zip(columns, values, strict=True):
                counts[column.key][value] = counts[column.key].get(value, 0) + count
        return counts

    @cached_property
    def _case_counts(self) -> dict[str, dict]:
        return self._counts_of(
            Escalation.raiser_agency, Escalation.other_agency, Escalation.level_of_need, Escalation.current_stage
        )

    @cached_property
    def _equality_counts(self) -> dict[str, dict]:
        return self._counts_of(Escalation.age_band, Escalation.gender, Escalation.ethnicity, Escalation.send)

    @cached_property
    def _theme_counts(self) -> dict[str, int]:
        return self._counts(self._themes.c.value, join_theme=True)

    @cached_property
    def _themes(self):
        """One row per theme of each case: the JSON list, unnested by the database."""
        if self.session.bind.dialect.name == "postgresql":
            return func.json_array_elements_text(Escalation.themes).table_valued("value").alias("theme")
        return func.json_each(Escalation.themes).table_valued("value").alias("theme")

    def _listed(self, counts: dict[str, int], order: list[str]) -> list[tuple]:
        """Every answer the policy lists, in its order (zeros too), then any others the cases hold."""
        names = list(order) + sorted(k for k in counts if k not in order and k)
        return [(name, shown(counts.get(name, 0))) for name in names]

    def summary(self) -> Sheet:
        return Sheet(
            "Summary",
            f"{self.policy.partnership} escalations: themes report",
            ("", ""),
            [
                ("Partnership", self.policy.partnership),
                ("Period", self.period.words),
                ("Cases opened in the period", shown(self.total)),
                ("Generated", f"{self.now:%-d %B %Y %H:%M} UTC"),
                ("Which cases count", "Every case opened in the period, at every stage from Stage 1."),
                ("Small numbers", "Any count from 1 to 4 is shown as <5, so that no child can be singled out."),
                ("Erased cases", "Cases erased under the retention rule still count, from what remains of them."),
            ],
        )

    def by_theme(self) -> Sheet:
        counts = self._theme_counts
        return Sheet(
            "By theme",
            "Cases by theme (a case can have several)",
            ("Theme", "Cases"),
            self._listed(counts, self.policy.lists.themes),
            chart_columns=(1,),
        )

    def by_agency(self) -> Sheet:
        raising, receiving = self._case_counts["raiser_agency"], self._case_counts["other_agency"]
        names = list(self.policy.lists.agencies) + sorted(
            {*raising, *receiving} - set(self.policy.lists.agencies) - {""}
        )
        return Sheet(
            "By agency",
            "Cases by raising agency and by receiving agency",
            ("Agency", "Raising", "Receiving"),
            [(n, shown(raising.get(n, 0)), shown(receiving.get(n, 0))) for n in names],
            chart_columns=(1, 2),
        )

    def by_level_of_need(self) -> Sheet:
        return Sheet(
            "By level of need",
            "Cases by level of need",
            ("Level of need", "Cases"),
            self._listed(self._case_counts["level_of_need"], self.policy.lists.levels_of_need),
            chart_columns=(1,),
        )

    def by_stage_reached(self) -> Sheet:
        counts = self._case_counts["current_stage"]
        return Sheet(
            "By stage reached",
            "Cases by the highest stage reached",
            ("Stage", "Cases"),
            [(f"Stage {s.number}: {s.name}", shown(counts.get(s.number, 0))) for s in self.policy.stages],
            chart_columns=(1,),
        )

    def by_outcome(self) -> Sheet:
        final = and_(StageRecord.escalation_id == Escalation.id, StageRecord.number == Escalation.current_stage)
        rows = self.session.execute(
            select(Escalation.status, Escalation.current_stage, StageRecord.outcome_kind, func.count())
            .select_from(Escalation)
            .join(StageRecord, final)
            .where(self.in_period)
            .group_by(Escalation.status, Escalation.current_stage, StageRecord.outcome_kind)
        ).all()
        by_stage: dict[int, int] = {}
        by_kind: dict[str, int] = {}
        withdrawn = still_open = 0
        for status, stage, kind, count in rows:
            if status == CaseStatus.WITHDRAWN:
                withdrawn += count
            elif status == CaseStatus.OPEN:
                still_open += count
            else:
                by_stage[stage] = by_stage.get(stage, 0) + count
                by_kind[kind] = by_kind.get(kind, 0) + count
        ended = [
            (
                f"Decided by {self.policy.executive_name} at Stage {s.number}"
                if self.policy.executive_holds(s.number)
                else f"Resolved at Stage {s.number}",
                shown(by_stage.get(s.number, 0)),
            )
            for s in self.policy.stages
        ]
        kinds = [(words, shown(by_kind.get(kind, 0))) for kind, words in OUTCOME_KINDS.items()]
        return Sheet(
            "By outcome",
            "Cases by outcome",
            ("Outcome", "Cases"),
            [*ended, ("Withdrawn", shown(withdrawn)), ("Still open", shown(still_open)), *kinds],
            chart_columns=(1,),
            notes=("The last three rows say how the resolved and decided cases ended; they count those cases again.",),
        )

    # ---------------------------------------------------------------- time taken

    def _working_day_numbers(self) -> Table:
        """A temporary table: each local day's start (UTC) and the working days up to and including it, so the
        database turns a start and an end into working days with two index look-ups."""
        table = Table(
            "report_day",
            MetaData(),
            Column("starts_at", UTCDateTime, primary_key=True),
            Column("n", Integer, nullable=False),
            prefixes=["TEMPORARY"],
        )
        connection = self.session.connection()
        table.create(connection)
        calendar = self.policy.working_calendar
        first = calendar.local_date(self.opened_from) - timedelta(days=1)
        last = calendar.local_date(max(self.now, self.opened_before)) + timedelta(days=400)
        days, count, day = [], 0, first
        while day <= last:
            count += calendar.is_working_day(day)
            days.append({"starts_at": calendar.at_local(day, time(0)), "n": count})
            day += timedelta(days=1)
        connection.execute(table.insert(), days)
        return table

    def working_days(self) -> Sheet:
        table = self._working_day_numbers()

        def n_at(moment):
            return (
                select(table.c.n)
                .where(table.c.starts_at <= moment)
                .order_by(table.c.starts_at.desc())
                .limit(1)
                .scalar_subquery()
            )

        # Kept when each stage ended; counted here only for stages ended before it was kept.
        taken = case(
            (StageRecord.working_days_taken.is_not(None), StageRecord.working_days_taken),
            else_=n_at(StageRecord.ended_at) - n_at(StageRecord.started_at),
        ).label("taken")
        inside = func.sum(case((StageRecord.ended_at <= StageRecord.due_at, 1), else_=0))
        try:
            rows = self.session.execute(
                select(StageRecord.number, taken, func.count(), inside)
                .join(Escalation, Escalation.id == StageRecord.escalation_id)
                .where(self.in_period, StageRecord.ended_at.is_not(None))
                .group_by(StageRecord.number, taken)
            ).all()
        finally:
            table.drop(self.session.connection())  # the connection goes back to the pool: leave it as found
        by_stage: dict[int, list[tuple[int, int]]] = {}
        inside_limit: dict[int, int] = {}
        for number, days, count, within in rows:
            by_stage.setdefault(number, []).append((days, count))
            inside_limit[number] = inside_limit.get(number, 0) + within
        out = []
        for stage in self.policy.stages:
            histogram = sorted(by_stage.get(stage.number, []))
            ended = sum(c for _, c in histogram)
            if ended < SMALLEST_SHOWN:
                out.append((f"Stage {stage.number}: {stage.name}", shown(ended), "", "", "", stage.working_days))
                continue
            share = round(100 * inside_limit.get(stage.number, 0) / ended)
            out.append(
                (
                    f"Stage {stage.number}: {stage.name}",
                    ended,
                    _percentile(histogram, 50),
                    _percentile(histogram, 90),
                    share,
                    stage.working_days,
                )
            )
        return Sheet(
            "Working days per stage",
            "Working days taken per stage",
            ("Stage", "Stages ended", "Median working days", "90th percentile", "% inside the limit", "Limit"),
            out,
            chart_columns=(2, 3),
            value_label="Working days",
            notes=("Stages that have ended; with fewer than 5 ended, the figures are left out.",),
        )

    @cached_property
    def _stage_counts(self) -> dict[int, tuple[int, ...]]:
        """By stage number, from one scan of the stages: how many, ended late, open and past the deadline now,
        reflective consultations requested, arranged and held."""

        def counted(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        rows = self.session.execute(
            select(
                StageRecord.number,
                func.count(),
                counted(StageRecord.ended_at > StageRecord.due_at),
                counted(and_(StageRecord.ended_at.is_(None), StageRecord.due_at < self.now)),
                counted(StageRecord.reflective_consultation_requested_at.is_not(None)),
                counted(StageRecord.consultation_arranged_for.is_not(None)),
                counted(StageRecord.consultation_held_on.is_not(None)),
            )
            .join(Escalation, Escalation.id == StageRecord.escalation_id)
            .where(self.in_period)
            .group_by(StageRecord.number)
        ).all()
        return {number: tuple(figures) for number, *figures in rows}

    def overdue(self) -> Sheet:
        found = {number: figures[:3] for number, figures in self._stage_counts.items()}
        return Sheet(
            "Overdue stages",
            "Overdue stages",
            ("Stage", "Stages", "Ended after the deadline", "Open and past the deadline now"),
            [
                (f"Stage {s.number}: {s.name}", *(shown(v) for v in found.get(s.number, (0, 0, 0))))
                for s in self.policy.stages
            ],
            chart_columns=(2, 3),
            value_label="Stages",
        )

    def consultations(self) -> Sheet:
        found = {number: figures[3:] for number, figures in self._stage_counts.items()}
        stages = self.policy.reflective_consultation_stages or [s.number for s in self.policy.stages]
        return Sheet(
            "Reflective consultations",
            "Reflective group consultations requested and held",
            ("Stage", "Requested", "Arranged", "Held"),
            [(f"Stage {n}: {self.policy.stage(n).name}", *(shown(v) for v in found.get(n, (0, 0, 0)))) for n in stages],
            chart_columns=(1, 2, 3),
            value_label="Consultations",
        )

    def key_learning(self) -> Sheet:
        """The latest KEY_LEARNING_PER_THEME entries under each theme: a list for people to read, whatever the
        number of cases (the cases' learning is the figures' complement, not a data dump)."""
        # The stages are walked newest first along their ended_at index, each theme's walk stopping at its
        # limit; the period is tested on each case found (coalesce keeps SQLite from driving the query by the
        # cases' opened_at index instead, which would sort every stage of the period).
        opened = func.coalesce(Escalation.opened_at, Escalation.opened_at)
        rows = []
        for name in sorted(self._theme_counts):
            has_theme = select(1).select_from(self._themes).where(self._themes.c.value == name).exists()
            found = self.session.execute(
                select(Escalation.reference, StageRecord.number, StageRecord.key_learning)
                .select_from(StageRecord)
                .join(Escalation, Escalation.id == StageRecord.escalation_id)
                .where(
                    StageRecord.ended_at.is_not(None),
                    StageRecord.key_learning != "",
                    opened >= self.opened_from,
                    opened < self.opened_before,
                    has_theme,
                )
                .order_by(StageRecord.ended_at.desc(), StageRecord.id.desc())
                .limit(KEY_LEARNING_PER_THEME)
            ).all()
            rows.extend((name, *row) for row in found)
        return Sheet(
            "Key learning",
            "Key learning, by theme",
            ("Theme", "Case", "Stage", "Key learning"),
            rows,
            notes=(
                f"Each stage's key learning under each theme of its case, the latest {KEY_LEARNING_PER_THEME} a theme."
                " Erased cases have none left.",
            ),
        )

    def equality(self) -> list[Sheet]:
        lists = self.policy.lists
        out = []
        for column, title, order in (
            (Escalation.age_band, "Age band", lists.age_bands),
            (Escalation.gender, "Gender", lists.genders),
            (Escalation.ethnicity, "Ethnicity", lists.ethnicities),
            (Escalation.send, "SEND", lists.send_answers),
        ):
            counts = self._equality_counts[column.key]
            rows = self._listed(counts, order) + [("Not given", shown(counts.get("", 0)))]
            out.append(
                Sheet(
                    f"Equality - {title}",
                    f"The children, by {title if title == 'SEND' else title.lower()} (in aggregate only)",
                    (title, "Cases"),
                    rows,
                    chart_columns=(1,),
                )
            )
        return out


def _percentile(histogram: list[tuple[int, int]], percent: int) -> int:
    """The nearest-rank percentile of a sorted (value, count) histogram."""
    total = sum(c for _, c in histogram)
    rank = max(1, -(-percent * total // 100))
    seen = 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value
    return histogram[-1][0]
