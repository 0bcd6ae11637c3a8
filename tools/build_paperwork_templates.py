"""Builds the Word templates the bot fills: the Escalation Notification Form and the record for an agency's file.

Run once to make flows/templates/*.docx, which are committed. From then on the partnership edits those files
in Word (wording, layout, logo, order); running this again overwrites their edits. The {{ … }} fields are
docxtpl (Jinja) tags: each names a value from the case's record (see flows/paperwork.py for the full list).

    .venv/bin/python tools/build_paperwork_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.shared import Pt

OUT = Path(__file__).resolve().parent.parent / "flows" / "templates"


def _new(title: str):
    document = Document()
    document.styles["Normal"].font.name = "Arial"
    document.styles["Normal"].font.size = Pt(11)
    document.add_heading(title, level=0)
    return document


def _fields(document, rows: list[tuple[str, str]]) -> None:
    """A two-column table: the form's question on the left, the tag that fills it on the right."""
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, tag in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, tag
        cells[0].paragraphs[0].runs[0].bold = True


def _listing(document, header: list[str], item: str, fields: list[str]) -> None:
    """A table with one row per item: docxtpl's {%tr %} rows repeat the middle row."""
    table = document.add_table(rows=4, cols=len(header))
    table.style = "Table Grid"
    for cell, words in zip(table.rows[0].cells, header, strict=True):
        cell.text = words
        cell.paragraphs[0].runs[0].bold = True
    table.rows[1].cells[0].text = f"{{%tr for {item} in {item}s %}}"
    for cell, tag in zip(table.rows[2].cells, fields, strict=True):
        cell.text = tag
    table.rows[3].cells[0].text = "{%tr endfor %}"


def notification_form() -> None:
    d = _new("{{ partnership }} Escalation Notification Form")
    d.add_paragraph(
        "Completed from Stage 3 of the Escalation and Resolution policy, whether or not the matter is resolved, "
        "and updated at Stages 4 and 5. Send it to the {{ partnership }} team ({{ partnership_email }})."
    )
    _fields(
        d,
        [
            ("Escalation reference", "{{ reference }}"),
            ("Status", "{{ status }}"),
            ("Highest stage reached", "{{ stage_reached }}"),
            ("Form as at", "{{ as_at }}"),
        ],
    )
    d.add_heading("Person completing this form", level=1)
    _fields(
        d,
        [
            ("Name", "{{ completing.name }}"),
            ("Role", "{{ completing.role }}"),
            ("Agency", "{{ completing.agency }}"),
            ("E-mail", "{{ completing.email }}"),
            ("Date", "{{ completing.date }}"),
        ],
    )
    d.add_heading("The child", level=1)
    d.add_paragraph("Initials and the agency's case reference in place of the full name. No date of birth.")
    _fields(
        d,
        [
            ("Child's initials", "{{ child.initials }}"),
            ("Agency's case reference", "{{ child.case_reference }}"),
            ("Age band", "{{ child.age_band }}"),
            ("Gender", "{{ child.gender }}"),
            ("Ethnicity", "{{ child.ethnicity }}"),
            ("SEND", "{{ child.send }}"),
            ("Level of need", "{{ child.level_of_need }}"),
        ],
    )
    d.add_heading("The disagreement", level=1)
    _fields(
        d,
        [
            ("Agency raising the concern", "{{ raising_agency }}"),
            ("Agency whose decision or action is disagreed with", "{{ receiving_agency }}"),
            ("Professional(s)", "{{ professionals }}"),
            ("Areas of disagreement", "{{ themes }}"),
            ("The outcome wanted", "{{ outcome_wanted }}"),
        ],
    )
    d.add_heading("Stage 3 and Stage 4: description of concerns", level=1)
    _fields(
        d,
        [
            ("Key dates", "{{ concerns.key_dates }}"),
            ("Evidence of need", "{{ concerns.evidence_of_need }}"),
            ("Key procedural issue or disagreement", "{{ concerns.disagreement }}"),
            ("Interventions to date", "{{ concerns.interventions }}"),
        ],
    )
    for number in (3, 4):
        s = f"stage{number}"
        d.add_heading(f"Stage {number}: {{{{ {s}.name }}}}", level=1)
        rows = [
            ("Held by", f"{{{{ {s}.holders }}}}"),
            ("Started", f"{{{{ {s}.started }}}}"),
            ("The concerns as they stand", f"{{{{ {s}.concerns }}}}"),
            ("Is the matter resolved?", f"{{{{ {s}.resolved }}}}"),
            ("Outcome", f"{{{{ {s}.outcome }}}}"),
            ("Decision or outcome", f"{{{{ {s}.decision }}}}"),
            ("Key learning", f"{{{{ {s}.key_learning }}}}"),
            ("Date", f"{{{{ {s}.date }}}}"),
        ]
        if number == 3:
            rows.insert(4, ("Reflective group consultation", f"{{{{ {s}.consultation }}}}"))
        _fields(d, rows)
    d.add_heading("Stage 5: {{ stage5.name }}", level=1)
    _fields(
        d,
        [
            ("Concerns, with supporting evidence", "{{ stage5.concerns }}"),
            ("Request to the Executive Group", "{{ stage5.request }}"),
            ("The Partnership Executive's decision or outcome", "{{ stage5.decision }}"),
            ("Outcome", "{{ stage5.outcome }}"),
            ("Key learning", "{{ stage5.key_learning }}"),
            ("Date", "{{ stage5.date }}"),
        ],
    )
    d.save(OUT / "notification_form.docx")


def record_for_file() -> None:
    d = _new("Escalation record for {{ agency }}")
    d.add_paragraph(
        "For the child's record in your agency's case management system: the policy asks for a record at every "
        "stage, with written communication about agreed outcomes and how outstanding issues will be pursued."
    )
    _fields(
        d,
        [
            ("Escalation reference", "{{ reference }}"),
            ("Your agency's case reference", "{{ agency_case_reference }}"),
            ("Child's initials", "{{ child_initials }}"),
            ("Your agency", "{{ agency }}"),
            ("Your side", "{{ side }}"),
            ("The other agency", "{{ other_agency }}"),
            ("Level of need", "{{ level_of_need }}"),
            ("Opened", "{{ opened }}"),
            ("Closed", "{{ closed }}"),
            ("Status", "{{ status }}"),
        ],
    )
    d.add_heading("The stages", level=1)
    _listing(
        d,
        ["Stage", "Started", "Ended", "Raising side", "Receiving side", "How it ended"],
        "stage",
        [
            "{{ stage.title }}",
            "{{ stage.started }}",
            "{{ stage.ended }}",
            "{{ stage.raising }}",
            "{{ stage.receiving }}",
            "{{ stage.how }}",
        ],
    )
    d.add_heading("Notes", level=1)
    _listing(
        d,
        ["Date", "Stage", "Who", "Kind", "Note"],
        "note",
        ["{{ note.date }}", "{{ note.stage }}", "{{ note.who }}", "{{ note.kind }}", "{{ note.text }}"],
    )
    d.add_heading("Outcome", level=1)
    _fields(
        d,
        [
            ("Outcome", "{{ outcome.kind }}"),
            ("Decision or outcome", "{{ outcome.decision }}"),
            ("Key learning", "{{ outcome.key_learning }}"),
            ("Date", "{{ outcome.date }}"),
        ],
    )
    d.add_heading("Actions on outstanding issues", level=1)
    d.add_paragraph("{%p if not actions %}")
    d.add_paragraph("Nothing is outstanding.")
    d.add_paragraph("{%p endif %}")
    _listing(d, ["What", "Who", "By when"], "action", ["{{ action.what }}", "{{ action.who }}", "{{ action.due }}"])
    d.save(OUT / "record_for_file.docx")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    notification_form()
    record_for_file()
    print(f"Wrote {OUT / 'notification_form.docx'} and {OUT / 'record_for_file.docx'}")
