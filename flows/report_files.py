"""The themes report written out: a workbook (one sheet per breakdown), one CSV per sheet, a PNG chart per breakdown.

XlsxWriter writes the workbook row by row in constant memory, which keeps a long key learning list cheap;
the charts are matplotlib's, made for print: a title, labelled axes, each bar's figure written beside it, and
series told apart by hatching and the legend as well as colour.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from flows.report import SUPPRESSED, Report, Sheet


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write_xlsx(report: Report, target: str | Path | io.BytesIO) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": isinstance(target, io.BytesIO)})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    for sheet in report.sheets:
        ws = workbook.add_worksheet(sheet.name[:31])
        ws.set_column(0, 0, 48)
        ws.set_column(1, len(sheet.header) - 1, 16)
        if sheet.name == "Key learning":
            ws.set_column(3, 3, 100, wrap)
        ws.write_string(0, 0, sheet.title, title)
        row = 1
        for note in sheet.notes:
            ws.write_string(row, 0, note)
            row += 1
        row += 1
        if any(sheet.header):
            for column, words in enumerate(sheet.header):
                ws.write_string(row, column, words, bold)
            row += 1
        for values in sheet.rows:
            for column, value in enumerate(values):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    ws.write_number(row, column, value)
                else:
                    ws.write_string(row, column, "" if value is None else str(value))
            row += 1
    workbook.close()


def workbook_bytes(report: Report) -> bytes:
    out = io.BytesIO()
    write_xlsx(report, out)
    return out.getvalue()


def write_csv(report: Report, directory: str | Path) -> list[Path]:
    """One CSV per sheet, named after it; the header row first."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, sheet in enumerate(report.sheets, start=1):
        path = directory / f"{number:02d}-{_slug(sheet.name)}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            if any(sheet.header):
                out.writerow(sheet.header)
            out.writerows(sheet.rows)
        written.append(path)
    return written


HATCHES = ("", "//", "..", "xx")
SHADES = ("#1d4f73", "#7fa7c9", "#c9d9e8", "#4d4d4d")


def chart_png(report: Report, sheet: Sheet) -> bytes:
    """One breakdown as a horizontal bar chart, readable in black and white."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [str(row[0]) for row in sheet.rows]
    series = sheet.chart_columns
    height = 0.8 / len(series)
    figure, axes = pyplot.subplots(figsize=(10, max(3.0, 0.45 * len(labels) * len(series) + 1.5)), dpi=100)
    try:
        for index, column in enumerate(series):
            values = [row[column] for row in sheet.rows]
            heights = [v if isinstance(v, int | float) else 0 for v in values]
            positions = [i + index * height for i in range(len(labels))]
            bars = axes.barh(
                positions,
                heights,
                height=height,
                label=sheet.header[column],
                color=SHADES[index % len(SHADES)],
                hatch=HATCHES[index % len(HATCHES)],
                edgecolor="black",
            )
            # Each bar's figure beside it, "<5" included: the chart says what the table says.
            axes.bar_label(bars, labels=["" if v == "" else str(v) for v in values], padding=3)
        axes.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(labels))], labels)
        axes.invert_yaxis()
        axes.set_title(f"{sheet.title}\n{report.partnership}, {report.period.words}")
        axes.set_xlabel(sheet.value_label + (f" ({SUPPRESSED} shown for 1 to 4)" if _has_suppressed(sheet) else ""))
        axes.set_ylabel(sheet.header[0])
        axes.margins(x=0.15)
        if len(series) > 1:
            axes.legend(loc="lower right")
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        pyplot.close(figure)


def _has_suppressed(sheet: Sheet) -> bool:
    return any(row[c] == SUPPRESSED for row in sheet.rows for c in sheet.chart_columns)


def charts(report: Report) -> list[tuple[str, bytes]]:
    """(file name, PNG) for each breakdown that has a chart."""
    return [
        (f"{number:02d}-{_slug(sheet.name)}.png", chart_png(report, sheet))
        for number, sheet in enumerate(report.sheets, start=1)
        if sheet.chart_columns
    ]


def write_charts(report: Report, directory: str | Path) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in charts(report):
        (directory / name).write_bytes(png)
        written.append(directory / name)
    return written
