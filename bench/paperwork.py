"""Benchmark of the paperwork: the themes report written as a workbook at 1,000, 10,000 and 100,000 cases (and the
files the quarterly post in chat makes: the key charts and the workbook), and the notification form's render
time.

1,000 cases are seeded through the lifecycle functions with an injected clock, opened across three years and
taken to every stage and outcome. Seeding 100,000 that way would take hours, so the larger sizes copy those
cases at SQL level (the case and stage rows the report reads, under new ids and references). Each report runs
in a fresh process, so its peak resident memory is its own.

Run: .venv/bin/python bench/paperwork.py [sizes, default 1000 10000 100000]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from flows import escalations as lifecycle  # noqa: E402
from flows.clock import ManualClock  # noqa: E402
from flows.context import Context  # noqa: E402
from flows.escalations import EscalationForm, OutcomeForm  # noqa: E402
from flows.people import PersonRef  # noqa: E402
from flows.policy import load_policy  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

SEEDED = 1000
START = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
EXECUTIVE = PersonRef("slack", "UEXEC", "Executive", "exec@cscp.example")


def person(role: str, i: int) -> PersonRef:
    return PersonRef("slack", f"U{role}{i % 40}", f"{role} {i % 40}", f"{role.lower()}{i % 40}@agency.example")


def seed(ctx: Context, clock: ManualClock) -> str:
    """SEEDED cases through the lifecycle; returns the reference of one that reached Stage 5 and closed."""
    lists = ctx.policy.lists
    stage5 = ""
    for i in range(SEEDED):
        clock.set(START + timedelta(days=(i * 1095) // SEEDED, hours=i % 5))
        raiser, other = person("RAISE", i), person("OTHER", i)
        form = EscalationForm(
            child_initials="AB",
            child_case_reference=f"REF-{i}",
            level_of_need=lists.levels_of_need[i % len(lists.levels_of_need)],
            raiser_role="Designated safeguarding lead",
            raiser_agency=lists.agencies[i % len(lists.agencies)],
            other_agency=lists.agencies[(i * 7 + 1) % len(lists.agencies)],
            themes=[lists.themes[i % len(lists.themes)], lists.themes[(i * 3 + 1) % len(lists.themes)]],
            key_dates="Referral 1 March; decision 5 March.",
            evidence_of_need="Attendance 61% & falling; disclosures <recorded> by the class teacher.",
            decision_disagreed="No further action on the referral.",
            interventions_to_date="Early Help assessment.",
            outcome_wanted="An assessment.",
            professionals=[other],
            age_band=lists.age_bands[i % len(lists.age_bands)],
            gender=lists.genders[i % len(lists.genders)],
            ethnicity=lists.ethnicities[i % len(lists.ethnicities)],
            send=lists.send_answers[i % len(lists.send_answers)],
        )
        case = lifecycle.open_escalation(ctx, raiser, form, child_at_immediate_risk=False, discussed_with_manager=True)
        target = 1 + i % 5
        holders = {1: (raiser, other)}
        while case.current_stage < target:
            number = case.current_stage
            clock.advance(timedelta(days=2 + i % 9))
            mine = holders[number][0]
            nxt = (person(f"R{number + 1}X", i), person(f"O{number + 1}X", i))
            formal = ctx.policy.stage(number).formal
            case = lifecycle.escalate(
                ctx,
                case.reference,
                mine,
                version=case.version,
                reason="Discussed; not agreed.",
                next_holders=[nxt[0]] if number + 1 < 5 else [],
                concerns="Still no assessment." if formal else "",
                decision_outcome="Upheld." if formal else "",
                key_learning=f"Learning at Stage {number}." if formal else "",
            )
            if number + 1 < 5:
                case = lifecycle.name_holder(ctx, case.reference, holders[number][1], version=None, holders=[nxt[1]])
            holders[number + 1] = nxt
            if number + 1 == 3 and i % 4 == 0:
                case = lifecycle.request_reflective_consultation(ctx, case.reference, nxt[0], version=case.version)
        if i % 7 == 6:
            continue  # left open
        clock.advance(timedelta(days=1 + i % 6))
        today = ctx.policy.working_calendar.local_date(clock.now())
        outcome = OutcomeForm(
            outcome_kind=("decision_changed", "decision_upheld", "action_agreed")[i % 3],
            decision_outcome="Agreed.",
            key_learning="Talk before deciding.",
            outcome_date=today,
            nothing_outstanding=True,
            concerns="As they stand." if ctx.policy.stage(case.current_stage).formal else "",
        )
        if case.current_stage == 5:
            case = lifecycle.record_executive_decision(
                ctx, case.reference, EXECUTIVE, version=case.version, outcome=outcome
            )
            stage5 = case.reference
        elif i % 11 == 0:
            lifecycle.withdraw(ctx, case.reference, holders[case.current_stage][0], version=case.version, reason="Ok.")
        else:
            lifecycle.resolve(
                ctx, case.reference, holders[case.current_stage][0], version=case.version, outcome=outcome
            )
    return stage5


ESCALATION_COLUMNS = (
    "policy_snapshot, status, current_stage, version, child_initials, child_case_reference, age_band, gender, "
    "ethnicity, send, level_of_need, raiser_id, raiser_role, raiser_agency, other_agency, themes, key_dates, "
    "evidence_of_need, decision_disagreed, interventions_to_date, outcome_wanted, opened_at, closed_at, "
    "withdrawal_reason, erased_at, policy_digest"
)
STAGE_COLUMNS = (
    "number, name, started_at, due_at, started_by_id, escalation_reason, ended_at, ended_how, resolved, "
    "outcome_kind, decision_outcome, key_learning, outcome_date, reflective_consultation_requested_at, "
    "working_days_taken, "
    "consultation_arranged_for, consultation_held_on, consultation_actions, concerns, ended_by_id, agreed_with_ids"
)


def grow(database: Database, size: int) -> None:
    """Copy the seeded cases (and their stages) at SQL level until there are `size`."""
    with database.engine.begin() as connection:
        have = connection.execute(text("SELECT count(*) FROM escalation")).scalar()
        copy = have // SEEDED
        while have < size:
            offset = copy * SEEDED
            connection.execute(
                text(
                    f"INSERT INTO escalation (id, reference, {ESCALATION_COLUMNS}) "
                    f"SELECT id + :offset, reference || '-' || :copy, {ESCALATION_COLUMNS} FROM escalation "
                    "WHERE id <= :seeded"
                ),
                {"offset": offset, "copy": copy, "seeded": SEEDED},
            )
            connection.execute(
                text(
                    f"INSERT INTO stage (escalation_id, {STAGE_COLUMNS}) "
                    f"SELECT escalation_id + :offset, {STAGE_COLUMNS} FROM stage WHERE escalation_id <= :seeded"
                ),
                {"offset": offset, "seeded": SEEDED},
            )
            have += SEEDED
            copy += 1


def measure(database_url: str) -> None:
    """In its own process: the report for the three years as a workbook; its time and this process's peak memory."""
    from flows.report import Period, themes_report
    from flows.report_files import write_xlsx

    database = Database(database_url)
    ctx = Context(db=database, policy=load_policy(), clock=ManualClock(START + timedelta(days=1200)))
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with themes_report(ctx, None, Period(date(2024, 4, 1), date(2027, 3, 31))) as report:
            write_xlsx(report, Path(folder) / "report.xlsx")
        elapsed = time.perf_counter() - start
        size = (Path(folder) / "report.xlsx").stat().st_size
    # What the quarterly post in chat makes: the key charts and the workbook, as files in memory.
    from flows.report_posts import report_documents

    start = time.perf_counter()
    documents = report_documents(ctx, Period(date(2024, 4, 1), date(2027, 3, 31)), "bench")
    in_chat = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{elapsed * 1000:.0f} ms, peak {peak:.0f} MB, workbook {size / 1024:.0f} KB; for chat, {len(documents)} "
        f"files ({sum(len(d.content) for d in documents) / 1024:.0f} KB) in {in_chat * 1000:.0f} ms"
    )


def main(sizes: list[int]) -> None:
    from flows.paperwork import notification_form

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        database = Database(url)
        upgrade(database)
        clock = ManualClock(START)
        ctx = Context(db=database, policy=load_policy(), clock=clock, executive=(EXECUTIVE,))
        started = time.perf_counter()
        stage5 = seed(ctx, clock)
        print(f"seeded {SEEDED} cases through the lifecycle over three years in {time.perf_counter() - started:.1f} s")

        renders = 50
        started = time.perf_counter()
        for _ in range(renders):
            notification_form(ctx, stage5, None)
        print(f"notification form (a Stage 5 case): {(time.perf_counter() - started) * 1000 / renders:.1f} ms each")

        for size in sizes:
            grow(database, size)
            result = subprocess.run(
                [sys.executable, __file__, "--measure", url], capture_output=True, text=True, check=True
            )
            print(f"report, {size:>7,} cases: {result.stdout.strip()}")
        database.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2])
    else:
        main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
