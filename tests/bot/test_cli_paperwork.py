"""`escalation-bot form`, `record` and `report` as a person runs them, on the configured database."""

import io
import os
from datetime import UTC, datetime

import openpyxl
from docx import Document as Docx

from bot.cli import main
from flows.clock import ManualClock
from flows.context import Context
from flows.policy import load_policy
from storage.db import Database
from storage.migrate import upgrade
from tests.bot.test_cli import clean_env  # noqa: F401 (the fixture)
from tests.flows.steps import open_case, to_stage


def a_stage_3_case(tmp_path) -> str:
    database = Database(os.environ["DATABASE_URL"])
    upgrade(database)
    ctx = Context(db=database, policy=load_policy(), clock=ManualClock(datetime.now(UTC)))
    reference = to_stage(ctx, open_case(ctx), 3).reference
    database.dispose()
    return reference


def test_form_record_and_report_write_their_files(clean_env, tmp_path, capsys):  # noqa: F811
    reference = a_stage_3_case(tmp_path)
    assert main(["form", reference.lower(), "--out", "form.docx"]) == 0
    form = Docx(io.BytesIO((tmp_path / "form.docx").read_bytes()))
    assert reference in [c.text for t in form.tables for r in t.rows for c in r.cells]
    assert main(["record", reference, "--side", "receiving", "--out", "record.docx"]) == 0
    assert (tmp_path / "record.docx").stat().st_size > 10_000
    year = datetime.now(UTC).year
    args = ["report", "--from", f"{year - 1}-01-01", "--to", f"{year + 1}-12-31", "--out", "report.xlsx"]
    assert main([*args, "--charts", "charts"]) == 0
    book = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert ("Stage 3: Service managers", "<5") in list(book["By stage reached"].iter_rows(values_only=True))
    assert len(list((tmp_path / "charts").glob("*.png"))) == 12
    assert main(["report", "--from", f"{year}-01-01", "--to", f"{year}-12-31", "--format", "csv", "--out", "csv"]) == 0
    assert len(list((tmp_path / "csv").glob("*.csv"))) == 14
    out = capsys.readouterr().out
    assert "Wrote" in out and "Traceback" not in out


def test_a_form_before_stage_3_or_for_no_case_is_refused_plainly(clean_env, tmp_path, capsys):  # noqa: F811
    database = Database(os.environ["DATABASE_URL"])
    upgrade(database)
    reference = open_case(Context(db=database, policy=load_policy())).reference
    database.dispose()
    assert main(["form", reference]) == 2
    assert main(["form", "ESC-2026-9999"]) == 2
    assert main(["report", "--from", "April", "--to", "2027-03-31"]) == 2
    err = capsys.readouterr().err
    assert "completed from Stage 3" in err and "no escalation ESC-2026-9999" in err and "YYYY-MM-DD" in err
