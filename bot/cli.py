"""The `escalation-bot` command."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys
from pathlib import Path

from bot import logs
from bot.settings import Settings, SettingsError, load_settings
from flows.policy import Policy, PolicyError, load_policy
from storage.db import Database, shown_url
from storage.migrate import current_revision, head_revision, upgrade

EXIT_CONFIG = 2
# For tests only: `run` keeps the bot's clock stopped at this ISO 8601 time (with its offset), so that a
# test driving the real process knows what is due. Read nowhere else.
FAKE_NOW = "ESCALATION_BOT_FAKE_NOW"


SANDBOX_PORT, SANDBOX_DATABASE = 8765, "sqlite:///sandbox.db"
# How a person chooses the port, said the same in the README, --help and the busy-port line.
PORT_HOW = "PORT=8766 make run, or PORT=8766 escalation-bot run"


class _NotCreatedYet(Exception):
    pass


def _sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL (None for any other database, or one in memory)."""
    if not database_url.startswith("sqlite:///"):
        return None
    name = database_url.removeprefix("sqlite:///").partition("?")[0]
    return Path(name) if name and name != ":memory:" else None


def _not_created_yet(database_url: str) -> bool:
    """A SQLite file that does not exist yet: looking at it must not create it."""
    path = _sqlite_file(database_url)
    return path is not None and not path.exists()


def _port_unavailable(unavailable) -> int:
    """One line, no traceback (bot.runtime.PortUnavailable)."""
    port, error = unavailable.port, unavailable.error
    if error.errno == errno.EADDRINUSE:
        return _fail(
            f"Port {port} is already in use (another program, or the bot already running). Choose another: {PORT_HOW}."
        )
    return _fail(f"Cannot listen on port {port}: {error.strerror or error}. Choose another: {PORT_HOW}.")


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_CONFIG


def _policy(settings: Settings) -> Policy:
    return load_policy(settings.policy_file or None)


def _settings_and_policy() -> tuple[Settings, Policy]:
    """Both, or SettingsError / PolicyError with the message for the person."""
    settings = load_settings()
    return settings, _policy(settings)


def cmd_check(args: argparse.Namespace) -> int:
    """Report on the configuration, the policy file and the database without changing anything."""
    problems: list[str] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(f"Settings:\n{exc}")
    try:
        policy = _policy(settings)
        print(
            f"Policy: {policy.name}, {policy.final_stage} stages "
            f"({', '.join(f'{s.number}. {s.name}' for s in policy.stages)})."
        )
    except PolicyError as exc:
        problems.append(str(exc))
    try:
        if _not_created_yet(settings.database_url):
            raise _NotCreatedYet
        database = Database(settings.database_url)
        shown = f"{shown_url(settings.database_url)} ({database.server_version()})"
        current, head = current_revision(database), head_revision(database)
        if current == head:
            print(f"Database: {shown} is up to date.")
        else:
            print(
                f"Database: {shown} is at {current or 'no schema yet'}; "
                f"the bot brings it to {head} when it starts (or run: escalation-bot migrate)."
            )
        database.dispose()
    except _NotCreatedYet:
        print(f"Database: {settings.database_url} does not exist yet; the bot creates it when it starts.")
    except Exception as exc:  # any driver error: report it plainly (never the password)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        problems.append(f"Database {shown_url(settings.database_url)} cannot be opened: {reason}")
    slack = settings.problems_for_slack()
    if slack and (settings.slack_enabled or not settings.teams_enabled):
        problems.append("Slack settings (needed by `escalation-bot run`):\n  " + "\n  ".join(slack))
    elif settings.slack_enabled:
        print(
            f"Slack: {'Socket Mode' if settings.socket_mode else f'HTTP on port {settings.port_number}'}, "
            f"CSCP channel {settings.cscp_channel_id}."
        )
    else:
        print("Slack: off (no Slack settings).")
    teams = settings.problems_for_teams()
    if teams:
        problems.append("Teams settings:\n  " + "\n  ".join(teams))
    elif settings.teams_enabled:
        print(
            f"Teams: app {settings.teams_app_id} in tenant {settings.teams_tenant_id}, POST /api/messages on port "
            f"{settings.port_number}; tokens checked against {settings.teams_openid_metadata_url}, the bot's own "
            f"from {settings.teams_login_url}; CSCP channel "
            f"{settings.teams_cscp_conversation_id or 'not set (TEAMS_CSCP_CONVERSATION_ID)'}."
        )
    else:
        print("Teams: off (TEAMS_APP_ID is not set).")
    email = settings.problems_for_email()
    if email:
        problems.append("E-mail settings:\n  " + "\n  ".join(email))
    elif settings.email_enabled:
        print(
            f"E-mail: on, by {settings.smtp_host}:{settings.smtp_port} "
            f"({'STARTTLS' if settings.smtp_starttls else 'no STARTTLS'}), from {settings.mail_from}."
        )
    else:
        print("E-mail: off (SMTP_HOST is not set): the raiser is asked to contact anyone named only by e-mail.")
    if problems:
        return _fail("\n".join(problems))
    print("All good.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(f"Settings:\n{exc}")
    database = Database(settings.database_url)
    upgrade(database)
    print(f"Database {shown_url(settings.database_url)} is at {current_revision(database)}.")
    database.dispose()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings, policy = _settings_and_policy()
    except (SettingsError, PolicyError) as exc:
        return _fail(str(exc))
    if getattr(args, "fresh", False) and (settings.slack_enabled or settings.teams_enabled):
        return _fail(
            "--fresh is for the sandbox only: it never erases the database of a bot connected to Slack or Teams."
        )
    if not (settings.slack_enabled or settings.teams_enabled):
        print(
            "No Slack or Teams settings found, so starting the sandbox: the bot against stand-ins for Slack and Teams "
            "on this machine. To connect to Slack or Teams, see README.md, 'Connect to Slack' and 'Connect to Teams'.",
            flush=True,
        )
        return cmd_sandbox(args)
    problems = _front_end_problems(settings) + settings.problems_for_email()
    if problems:
        return _fail(
            "Cannot start the bot:\n  "
            + "\n  ".join(problems)
            + "\nSee README.md, 'Connect to Slack' and 'Connect to Teams'."
        )
    from bot.runtime import PortUnavailable, run_bot

    logs.configure(settings.log_level.upper())
    try:
        run_bot(settings, policy, _fake_clock())
    except SettingsError as exc:  # found only as the front-ends are built
        return _fail(f"Cannot start the bot: {exc}")
    except PortUnavailable as unavailable:  # its port, taken before anything starts
        return _port_unavailable(unavailable)
    return 0


def _front_end_problems(settings: Settings) -> list[str]:
    """What stops the configured front-ends (Slack, Teams, or both), each problem once."""
    problems = settings.problems_for_slack() if settings.slack_enabled else []
    problems += [p for p in settings.problems_for_teams() if p not in problems]
    return problems


def _fake_clock():
    if not os.environ.get(FAKE_NOW):
        return None
    from datetime import datetime

    from flows.clock import ManualClock

    now = datetime.fromisoformat(os.environ[FAKE_NOW])
    logging.getLogger(__name__).warning(
        "%s is set: the clock is stopped at %s (for tests only)", FAKE_NOW, now.isoformat()
    )
    return ManualClock(now)


@contextlib.contextmanager
def _engine_context():
    """The engine on the configured database, for a one-off command; None (after saying why) if it cannot."""
    from flows.clock import SystemClock
    from flows.context import Context

    try:
        settings, policy = _settings_and_policy()
    except (SettingsError, PolicyError) as exc:
        _fail(str(exc))
        yield None
        return
    if _not_created_yet(settings.database_url):
        _fail(
            f"There is no database at {_sqlite_file(settings.database_url)} (DATABASE_URL={settings.database_url}) "
            "yet: the bot creates it when it first starts."
        )
        yield None
        return
    database = Database(settings.database_url)
    upgrade(database)
    try:
        yield Context(db=database, policy=policy, clock=SystemClock())
    finally:
        database.dispose()


def cmd_digest(args: argparse.Namespace) -> int:
    """The weekly digest as it stands now, printed; nothing is posted or recorded."""
    from flows.digest import build_digest, digest_covers_from, digest_text

    if not args.print:
        return _fail("Use `escalation-bot digest --print`: the running bot posts the digest itself.")
    with _engine_context() as ctx:
        if ctx is None:
            return 2
        now = ctx.clock.now()
        print(digest_text(build_digest(ctx, digest_covers_from(ctx, now), now)))
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """The retention rule: --dry-run lists what would be erased, --apply erases it (the bot also does, daily)."""
    from flows.retention import due_for_erasure, erase

    if args.dry_run == args.apply:
        return _fail("Say --dry-run to list what would be erased, or --apply to erase it.")
    with _engine_context() as ctx:
        if ctx is None:
            return 2
        due = due_for_erasure(ctx)
        for case in due:
            print(
                f"{case.reference}  closed {case.closed_on:%d %b %Y}, due for erasure {case.erase_on:%d %b %Y}: "
                "the child's initials, the agency's case reference and all free text"
            )
        if args.apply:
            erased = erase(ctx, due)
            print(f"Erased {len(erased)} case{'s' if len(erased) != 1 else ''}.")
        else:
            print(f"{len(due)} case{'s' if len(due) != 1 else ''} would be erased. Nothing was changed.")
    return 0


def _write(document, out: str | None) -> int:
    path = Path(out or document.filename)
    path.write_bytes(document.content)
    print(f"Wrote {document.title} to {path}.")
    return 0


def _document(args: argparse.Namespace, make) -> int:
    """A case's document, written to a file. The command line is the operator's: the request is audited as its."""
    from flows.errors import Refused

    with _engine_context() as ctx:
        if ctx is None:
            return 2
        try:
            return _write(make(ctx), args.out)
        except Refused as refusal:
            return _fail(str(refusal))


def cmd_form(args: argparse.Namespace) -> int:
    """The Escalation Notification Form of a case, as a Word document."""
    from flows.paperwork import notification_form

    return _document(args, lambda ctx: notification_form(ctx, args.reference, None))


def cmd_record(args: argparse.Namespace) -> int:
    """The record of a case for one side's agency file, as a Word document."""
    from flows.paperwork import record_for_file

    return _document(args, lambda ctx: record_for_file(ctx, args.reference, None, args.side))


def cmd_report(args: argparse.Namespace) -> int:
    """The themes report for a period: a workbook (or CSV files), and charts if asked."""
    from datetime import date

    from flows.errors import Refused
    from flows.report import Period, themes_report
    from flows.report_files import write_charts, write_csv, write_xlsx

    try:
        period = Period(date.fromisoformat(args.start), date.fromisoformat(args.end))
    except ValueError:
        return _fail("Give the dates as YYYY-MM-DD, such as --from 2026-04-01 --to 2027-03-31.")
    with _engine_context() as ctx:
        if ctx is None:
            return 2
        try:
            with themes_report(ctx, None, period) as report:
                if args.charts:
                    print(f"Wrote {len(write_charts(report, args.charts))} charts to {args.charts}.")
                if args.format == "csv":
                    out = args.out or "report-csv"
                    print(f"Wrote {len(write_csv(report, out))} CSV files to {out}.")
                else:
                    out = args.out or f"report-{period.start}-{period.end}.xlsx"
                    write_xlsx(report, out)
                    print(f"Wrote the themes report for {period.words} to {out}.")
        except Refused as refusal:
            return _fail(str(refusal))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The real bot against a stand-in Slack and a stand-in Teams on 127.0.0.1, with a web page to drive it."""
    import asyncio

    from bot.runtime import PortUnavailable
    from bot.sandbox.server import run_sandbox

    try:
        settings, policy = _settings_and_policy()
    except (SettingsError, PolicyError) as exc:
        return _fail(str(exc))
    given = settings.model_fields_set  # what the environment or .env set, not the defaults
    database_url = settings.database_url if "database_url" in given else SANDBOX_DATABASE
    if "port" in given and not (settings.port.isdigit() and 1 <= int(settings.port) <= 65535):
        return _fail(f"PORT should be a number from 1 to 65535, such as {PORT_HOW}.")
    port = settings.port_number if "port" in given else SANDBOX_PORT
    if getattr(args, "fresh", False):
        path = _sqlite_file(database_url)
        if path is None:
            return _fail(
                f"--fresh starts the sandbox again by deleting its SQLite file; {shown_url(database_url)} is not one."
            )
        existed = path.exists()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            leftover.unlink(missing_ok=True)
        print(f"Starting again: deleted {path}." if existed else f"Starting afresh: {path} did not exist.", flush=True)
    logs.configure(logging.WARNING)
    try:
        asyncio.run(run_sandbox(policy, database_url, port))
    except KeyboardInterrupt:
        pass
    except PortUnavailable as unavailable:  # the page's port, taken before anything starts
        return _port_unavailable(unavailable)
    return 0


def cmd_teams_package(args: argparse.Namespace) -> int:
    """The Teams app package to upload in Teams admin."""
    try:
        settings, policy = _settings_and_policy()
    except (SettingsError, PolicyError) as exc:
        return _fail(str(exc))
    problems = [p for p in settings.problems_for_teams() if p.startswith("TEAMS_APP_ID")]
    if not settings.teams_app_id or problems:
        return _fail(problems[0] if problems else "TEAMS_APP_ID is not set: the package names the bot by it.")
    if not args.website_url.startswith("https://"):
        return _fail("--website-url should start with https://")
    from bot.teams.package import build_package

    Path(args.out).write_bytes(
        build_package(
            app_id=settings.teams_app_id,
            version=args.version,
            developer=args.developer or policy.partnership,
            website_url=args.website_url,
            privacy_url=args.privacy_url or args.website_url,
            terms_url=args.terms_url or args.website_url,
            partnership=policy.partnership,
        )
    )
    print(f"Wrote {args.out}: upload it in Teams admin centre → Teams apps → Manage apps → Upload new app.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalation-bot",
        description="Runs the CSCP Escalation and Resolution policy in Slack and Microsoft Teams.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox_words = (
        "With no Slack or Teams settings, `run` starts the sandbox: the bot against stand-ins for Slack and Teams, "
        f"its page at http://127.0.0.1:{SANDBOX_PORT}/ and its database {SANDBOX_DATABASE}. PORT chooses the port "
        f"({PORT_HOW}) and DATABASE_URL the database; --fresh (`make run FRESH=1`) deletes the sandbox's database "
        "and starts again."
    )
    run = commands.add_parser(
        "run",
        help="start the bot for Slack, Teams or both (settings from the environment or .env), or else the sandbox",
        description=sandbox_words,
    )
    run.add_argument("--fresh", action="store_true", help="the sandbox only: delete its database and start again")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("check", help="check the settings, the policy file and the database").set_defaults(
        handler=cmd_check
    )
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)
    sandbox = commands.add_parser(
        "sandbox", help="try the bot in your browser, without Slack or Teams", description=sandbox_words
    )
    sandbox.add_argument("--fresh", action="store_true", help="delete the sandbox's database and start again")
    sandbox.set_defaults(handler=cmd_sandbox)
    digest = commands.add_parser("digest", help="the weekly CSCP digest: --print shows it without posting")
    digest.add_argument("--print", action="store_true", help="print the digest to the terminal")
    digest.set_defaults(handler=cmd_digest)
    retention = commands.add_parser("retention", help="erase closed cases' details once the retention rule says so")
    retention.add_argument("--dry-run", action="store_true", help="list what would be erased; change nothing")
    retention.add_argument("--apply", action="store_true", help="erase it now")
    retention.set_defaults(handler=cmd_retention)
    package = commands.add_parser("teams-package", help="build the Teams app package (manifest and icons) to upload")
    package.add_argument("--out", default="escalation-bot-teams.zip", help="where to write the zip")
    package.add_argument("--website-url", required=True, help="the partnership's web site (https://…), shown in Teams")
    package.add_argument("--privacy-url", default="", help="its privacy notice (default: the web site)")
    package.add_argument("--terms-url", default="", help="its terms of use (default: the web site)")
    package.add_argument("--developer", default="", help="who publishes the app (default: the policy's partnership)")
    package.add_argument("--version", default="1.0.0", help="the package's version; raise it for each upload")
    package.set_defaults(handler=cmd_teams_package)
    form = commands.add_parser("form", help="write a case's Escalation Notification Form (Word)")
    form.add_argument("reference", help="the case, such as ESC-2026-0001")
    form.add_argument("--out", help="the file to write (default: <reference>-notification-form.docx)")
    form.set_defaults(handler=cmd_form)
    record = commands.add_parser("record", help="write the record of a case for an agency's file (Word)")
    record.add_argument("reference", help="the case, such as ESC-2026-0001")
    record.add_argument("--side", choices=["raising", "receiving"], default="raising", help="whose file")
    record.add_argument("--out", help="the file to write (default: <reference>-record-<side>.docx)")
    record.set_defaults(handler=cmd_record)
    report = commands.add_parser("report", help="write the themes report for a period (workbook, CSV, charts)")
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (cases opened from it)")
    report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")
    report.add_argument("--format", choices=["xlsx", "csv"], default="xlsx", help="a workbook, or one CSV per sheet")
    report.add_argument("--out", help="the workbook to write, or the folder for the CSV files")
    report.add_argument("--charts", metavar="DIR", help="also write each breakdown as a PNG chart into DIR")
    report.set_defaults(handler=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
