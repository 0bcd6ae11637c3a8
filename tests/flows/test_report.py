"""The themes report against a known set of cases: every breakdown, small numbers shown as "<5", cases outside the
period left out, erased cases still counted; the workbook, the CSV files and the charts as files."""

import csv
import struct
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import update
from sqlmodel import select

from flows import escalations as lifecycle
from flows import permissions as can
from flows.errors import Refused
from flows.report import Period, themes_report
from flows.report_files import write_charts, write_csv, write_xlsx
from flows.retention import due_for_erasure, erase
from storage.models import AuditEvent, StageRecord
from tests.conftest import CSCP_MEMBER, MASH_WORKER, TEACHER
from tests.flows.steps import escalate, open_case, outcome

YEAR = Period(date(2026, 4, 1), date(2027, 3, 31))
THEME_A, THEME_B = "Levels of safeguarding or protection need", "Information sharing"


def known_cases(ctx, clock):
    """Eight cases opened on Wed 1 April 2026, one more after the period. Stage 1 took 2 working days for seven
    (Good Friday and Easter Monday fall between) and 8 for one, past its deadline of 14 April."""
    school = [
        open_case(ctx, themes=[THEME_A], level_of_need="Child Protection", age_band="11 to 15", gender="Female")
        for _ in range(6)
    ]
    gp = [
        open_case(ctx, themes=[THEME_A, THEME_B], raiser_agency="Health: GP", level_of_need="Early Help")
        for _ in range(2)
    ]
    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))
    for case in school[:4]:
        lifecycle.resolve(ctx, case.reference, TEACHER, version=case.version, outcome=outcome(1))
    lifecycle.withdraw(ctx, school[4].reference, TEACHER, version=school[4].version, reason="Agreed after all.")
    for case in gp:
        escalate(ctx, case)
    clock.set(datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    late = school[5]
    lifecycle.resolve(
        ctx, late.reference, TEACHER, version=late.version, outcome=outcome(1, outcome_kind="decision_changed")
    )
    clock.set(datetime(2027, 4, 2, 9, 0, tzinfo=UTC))
    open_case(ctx)  # opened after the period: not counted
    clock.set(datetime(2026, 4, 15, 9, 0, tzinfo=UTC))


def figures(ctx, requester=None, period=YEAR) -> dict[str, list[tuple]]:
    with themes_report(ctx, requester, period) as report:
        return {sheet.name: [tuple(r) for r in sheet.rows] for sheet in report.sheets}


def row(sheet: list[tuple], label: str) -> tuple:
    return next(r for r in sheet if r[0] == label)[1:]


def test_every_breakdown_against_known_cases_with_small_numbers_suppressed(ctx, clock):
    known_cases(ctx, clock)
    found = figures(ctx)
    assert row(found["Summary"], "Cases opened in the period") == (8,)
    assert row(found["By theme"], THEME_A) == (8,)
    assert row(found["By theme"], THEME_B) == ("<5",)  # 2
    assert row(found["By theme"], "Service provision") == (0,)
    assert row(found["By agency"], "School or college") == (6, 0)
    assert row(found["By agency"], "Health: GP") == ("<5", 0)
    assert row(found["By agency"], "Children's Social Care (MASH)") == (0, 8)
    assert row(found["By level of need"], "Child Protection") == (6,)
    assert row(found["By level of need"], "Early Help") == ("<5",)
    assert row(found["By stage reached"], "Stage 1: Frontline practitioners") == (6,)
    assert row(found["By stage reached"], "Stage 2: Line managers") == ("<5",)
    outcomes = dict(found["By outcome"])
    assert outcomes["Resolved at Stage 1"] == 5
    assert outcomes["Withdrawn"] == "<5" and outcomes["Still open"] == "<5"
    assert outcomes["Decided by the CSCP Executive Group at Stage 5"] == 0
    assert outcomes["Action was agreed"] == "<5" and outcomes["The decision was changed"] == "<5"
    # Stage 1 ended for all eight: seven in 2 working days, one in 8 (past its limit of 7).
    assert row(found["Working days per stage"], "Stage 1: Frontline practitioners") == (8, 2, 8, 88, 7)
    assert row(found["Working days per stage"], "Stage 2: Line managers") == (0, "", "", "", 7)
    assert row(found["Overdue stages"], "Stage 1: Frontline practitioners") == (8, "<5", 0)
    assert row(found["Overdue stages"], "Stage 2: Line managers") == ("<5", 0, 0)
    assert found["Reflective consultations"] == [("Stage 3: Service managers", 0, 0, 0)]
    newest_first = (6, 4, 3, 2, 1)
    assert found["Key learning"] == [(THEME_A, f"ESC-2026-000{n}", 1, "Talk before deciding.") for n in newest_first]
    assert row(found["Equality - Age band"], "11 to 15") == (6,)
    assert row(found["Equality - Age band"], "Not given") == ("<5",)
    assert row(found["Equality - Gender"], "Female") == (6,)


def test_later_stages_are_timed_and_overdue_ones_counted(ctx, clock):
    cases = [open_case(ctx) for _ in range(5)]
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))  # 11 working days on (2, 7-10, 13-17, 20 April): overdue
    cases = [escalate(ctx, c) for c in cases]
    clock.set(datetime(2026, 5, 6, 9, 0, tzinfo=UTC))  # Stage 2 due 29 April: still open, past it
    found = figures(ctx)
    assert row(found["Working days per stage"], "Stage 1: Frontline practitioners") == (5, 11, 11, 0, 7)
    assert row(found["Overdue stages"], "Stage 1: Frontline practitioners") == (5, 5, 0)
    assert row(found["Overdue stages"], "Stage 2: Line managers") == (5, 0, 5)


def test_stages_ended_before_their_working_days_were_kept_are_counted_the_same(ctx, clock):
    """Each stage keeps its working days when it ends; one ended before that was kept is counted from its dates."""
    cases = [open_case(ctx) for _ in range(5)]
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    for case in cases:
        escalate(ctx, case)
    with ctx.db.transaction() as session:
        kept = session.exec(select(StageRecord.working_days_taken).where(StageRecord.number == 1)).all()
        assert kept == [11] * 5
        session.execute(update(StageRecord).values(working_days_taken=None))
    found = figures(ctx)
    assert row(found["Working days per stage"], "Stage 1: Frontline practitioners") == (5, 11, 11, 0, 7)


def test_erased_cases_still_count_from_what_remains(ctx, clock):
    known_cases(ctx, clock)
    clock.set(datetime(2028, 6, 1, 9, 0, tzinfo=UTC))
    assert len(erase(ctx, due_for_erasure(ctx))) == 6
    found = figures(ctx)
    assert row(found["Summary"], "Cases opened in the period") == (8,)
    assert row(found["By theme"], THEME_A) == (8,)
    assert dict(found["By outcome"])["Resolved at Stage 1"] == 5
    assert found["Key learning"] == []  # the words were erased with the rest


def test_only_the_partnership_may_have_it_and_each_request_is_audited(ctx, clock):
    known_cases(ctx, clock)
    figures(ctx, CSCP_MEMBER)
    for person in (TEACHER, MASH_WORKER):
        with pytest.raises(Refused) as refused:
            figures(ctx, person)
        assert refused.value.reason == "not_allowed"
    with ctx.db.transaction() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.escalation_id.is_(None))).all()
    assert [(e.action, e.detail.get("attempted")) for e in events] == [
        (can.REPORT, None),
        ("refused", can.REPORT),
        ("refused", can.REPORT),
    ]
    assert events[0].detail == {"from": "2026-04-01", "to": "2027-03-31"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_workbook_csv_files_and_charts(ctx, clock, tmp_path):
    known_cases(ctx, clock)
    with themes_report(ctx, None, YEAR) as report:
        names = [s.name for s in report.sheets]
        write_xlsx(report, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert book.sheetnames == names
    assert len(names) >= 14
    theme_rows = list(book["By theme"].iter_rows(values_only=True))
    assert ("Theme", "Cases") in theme_rows and (THEME_B, "<5") in theme_rows and (THEME_A, 8) in theme_rows
    learning = list(book["Key learning"].iter_rows(values_only=True))
    assert (THEME_A, "ESC-2026-0006", 1, "Talk before deciding.") in learning

    with themes_report(ctx, None, YEAR) as report:
        files = write_csv(report, tmp_path / "csv")
    assert len(files) == len(names)
    with files[1].open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Theme", "Cases"] and [THEME_B, "<5"] in rows

    with themes_report(ctx, None, YEAR) as report:
        charts = write_charts(report, tmp_path / "charts")
    assert len(charts) == len(names) - 2  # the summary and the key learning are not charts
    for path in charts:
        width, height = png_size(path.read_bytes())
        assert 600 <= width <= 2000 and 250 <= height <= 3000, path.name
        assert path.stat().st_size > 10_000, path.name


def test_a_period_that_ends_before_it_starts_is_refused(ctx):
    with pytest.raises(Refused):
        figures(ctx, None, Period(date(2027, 1, 1), date(2026, 1, 1)))
