"""The themes report in chat: posted to the partnership's channel once a period (the policy's [report]), and
sent to a member of the partnership team who asks for a period, as the charts and the workbook.

The scheduled post is written once through restarts and several instances: a ledger row keyed by the period,
in the same transaction as its outbox message (as the weekly digest's). The files are made when the message is
delivered, from the cases as they are then; cases erased under the retention rule still count.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from flows import permissions as can
from flows import topics
from flows.context import Context
from flows.errors import Refused
from flows.paperwork import Document, document_for, sent_words
from flows.people import PersonRef
from flows.permissions import RAISING
from flows.persons import person_row
from flows.policy import Policy
from flows.records import CaseView
from flows.report import Period, check_may_have_report, themes_report
from flows.report_files import chart_png, workbook_bytes
from storage.models import Escalation, OutboxMessage, ReportSent

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = "image/png"
# The charts posted beside the workbook (the workbook has every breakdown).
KEY_CHARTS = ("By theme", "By agency", "By stage reached", "By outcome")
SCHEDULED = "the scheduled post in the partnership's channel"
ASKED = "sent to the partnership team member who asked"


def _month_start(year: int, month: int) -> date:
    """The first of a month counted from January of `year` (month may be below 1 or above 12)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def period_due(policy: Policy, now: datetime) -> Period | None:
    """The latest period whose report is due by `now`, or None when the policy posts none."""
    settings, calendar = policy.report, policy.working_calendar
    if not settings.every_months:
        return None
    today = calendar.local_date(now)
    # The latest period start on or before this month, counted from first_month in steps of every_months.
    steps = (today.month - settings.first_month) // settings.every_months
    boundary = _month_start(today.year, settings.first_month + steps * settings.every_months)
    for _ in range(2):
        post_at = calendar.next_working_time(calendar.at_local(boundary.replace(day=settings.day), settings.at))
        if post_at <= now:
            start = _month_start(boundary.year, boundary.month - settings.every_months)
            return Period(start, boundary - timedelta(days=1))
        boundary = _month_start(boundary.year, boundary.month - settings.every_months)
    return None


def record_due_report(ctx: Context) -> bool:
    """Write the report due now to the outbox for the partnership's channel, once (a missed one goes when the bot
    is back). Called by the scheduler's due-work."""
    now = ctx.clock.now()
    period = period_due(ctx.policy, now)
    if period is None:
        return False
    with ctx.db.read() as session:
        if session.exec(select(ReportSent).where(ReportSent.period_start == period.start)).first():
            return False
        # Nothing to report for a period that ended before the first case was opened (a new installation).
        _, ends = period.bounds(ctx.policy)
        if session.exec(select(Escalation.id).where(Escalation.opened_at < ends).limit(1)).first() is None:
            return False
    try:
        with ctx.db.transaction() as session:
            session.add(ReportSent(period_start=period.start, period_end=period.end, recorded_at=now))
            session.flush()
            session.add(
                OutboxMessage(
                    topic=topics.REPORT, audience=topics.PARTNERSHIP, payload=_payload(period), created_at=now
                )
            )
    except IntegrityError:
        return False  # another instance recorded it first
    log.info("the themes report for %s is due in the partnership's channel", period.words)
    return True


def _payload(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def period_of(payload: dict) -> Period:
    return Period(date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"]))


def period_asked(ctx: Context, words: list[str]) -> Period:
    """The period someone asks for: two dates (YYYY-MM-DD, both included), or none for the latest period the
    policy reports on (the last three months when it posts none)."""
    if not words:
        now = ctx.clock.now()
        due = period_due(ctx.policy, now)
        if due is not None:
            return due
        today = ctx.policy.working_calendar.local_date(now)
        end = today.replace(day=1) - timedelta(days=1)
        return Period(_month_start(end.year, end.month - 2), end)
    if len(words) != 2:
        raise Refused("Give two dates, the first and last day: for example report 2026-04-01 2027-03-31.")
    try:
        start, end = (date.fromisoformat(w) for w in words)
    except ValueError:
        raise Refused("Write the dates as YYYY-MM-DD: for example report 2026-04-01 2027-03-31.") from None
    if end < start:
        raise Refused("The period ends before it starts.", field="to")
    return Period(start, end)


def ask_for_report(ctx: Context, requester: PersonRef, period: Period) -> None:
    """A member of the partnership team asks for the report: checked and audited (a refusal too), then sent to
    them through the outbox, once."""
    check_may_have_report(ctx, requester, period)
    with ctx.db.transaction() as session:
        session.add(
            OutboxMessage(
                topic=topics.REPORT,
                audience=topics.PERSON,
                recipient_id=person_row(session, requester).id,
                payload=_payload(period),
                created_at=ctx.clock.now(),
            )
        )


def report_documents(ctx: Context, period: Period, via: str) -> list[Document]:
    """For a sender delivering a report message (whoever asked was checked when it was written): the key charts
    as PNG images, then the workbook. Made now, audited as the bot's, `via` saying why."""
    if can.PARTNERSHIP_TEAM not in ctx.policy.permissions[can.REPORT]:
        raise Refused("The policy no longer lets the partnership team have the report.", reason="not_allowed")
    with themes_report(ctx, None, period, via) as report:
        reference = f"{period.start}-{period.end}"
        documents = [
            Document(
                can.REPORT,
                reference,
                f"themes-report-{reference}-{sheet.name.lower().replace(' ', '-')}.png",
                f"{sheet.title}, {period.words}",
                chart_png(report, sheet),
                PNG,
            )
            for sheet in report.sheets
            if sheet.name in KEY_CHARTS and sheet.chart_columns
        ]
        documents.append(
            Document(
                can.REPORT,
                reference,
                f"themes-report-{reference}.xlsx",
                f"{report.partnership} themes report, {period.words}",
                workbook_bytes(report),
                XLSX,
            )
        )
    return documents


def document_of(topic: str, payload: dict, case: CaseView) -> dict:
    """What a message says of its document: a document message's own payload, or the document a notice carries
    (flows.escalations._document), told at the notice's stage."""
    if topic == topics.DOCUMENT:
        return payload
    return {**payload["document"], "stage": payload.get("stage", case.current_stage)}


def files_for(
    ctx: Context, topic: str, case: CaseView | None, payload: dict, to_person: bool
) -> tuple[list[tuple[Document, str]], str]:
    """For a sender delivering a document or report message, or a notice that carries a document: the files with
    the title each goes under, and the line above them, whatever the platform."""
    if topic == topics.REPORT:
        period = period_of(payload)
        files = [(d, d.title) for d in report_documents(ctx, period, ASKED if to_person else SCHEDULED)]
        why = "as you asked" if to_person else "for the period just ended"
        line = (
            f"The {ctx.policy.partnership} themes report for {period.words}, {why}: the key charts, and the workbook "
            "with every breakdown (any count from 1 to 4 shows as <5)."
        )
        return files, line
    payload = document_of(topic, payload, case)
    document = document_for(ctx, case, payload["kind"], payload.get("side", RAISING))
    title, line = sent_words(ctx, case, document, payload)
    return [(document, title)], line
