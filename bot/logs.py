"""Logging, set up in one place for the bot, the sandbox and the tests alike.

Nothing about a child may reach a log. Our code names cases by reference and errors by class name.
The libraries log what people sent below WARNING: Bolt the whole body of a refused request (INFO)
and every answer it gives (DEBUG); slack_sdk every Web API call with its arguments and every Socket
Mode envelope (DEBUG); aiohttp each request line with its headers (INFO); SQLAlchemy its statements
with their values (INFO, when the root logger allows it); the Teams SDK every activity it receives (DEBUG),
httpx each request line and MSAL its token requests. So those loggers never go below WARNING, whatever
level is asked for. The Teams SDK also logs an error it met while handling an activity with the error's
message (which can quote the activity): only the error's class and place are kept.
"""

from __future__ import annotations

import logging
import os
import traceback

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The logger handed to Bolt: Bolt copies its level into every logger it makes for the app.
BOLT_LOGGER = "bot.slack.bolt"
QUIET_LIBRARIES = ("slack_bolt", BOLT_LOGGER, "slack_sdk", "aiohttp", "sqlalchemy", "microsoft_teams", "httpx", "msal")
TEAMS_SDK = "microsoft_teams"
_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OUR_CODE = tuple(os.path.join(_PROJECT, package) + os.sep for package in ("bot", "flows", "storage"))


def configure(level: str | int) -> None:
    """The running bot's logging: one line per record on stderr, libraries kept quiet."""
    logging.basicConfig(level=level, format=FORMAT)
    keep_request_data_out()


class _UnquotedRequests(logging.Filter):
    """Bolt's warnings about a request it could not route quote the request: its ids, or its whole
    body. The warning is kept, the quote is not."""

    QUOTING = ("Unhandled request", "A global middleware")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for start in self.QUOTING:
            if message.startswith(start):
                record.msg, record.args = f"{start} (the request is not logged)", ()
        return True


_UNQUOTED = _UnquotedRequests()


class _UnquotedErrors(logging.Filter):
    """An error the Teams SDK logs keeps its class and place, not its message or its traceback's values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = describe(record.exc_info[1]), ()
            record.exc_info, record.exc_text = None, None
        return True


_UNQUOTED_ERRORS = _UnquotedErrors()


def keep_request_data_out() -> None:
    """Raise the libraries' loggers to WARNING (or the root's level, if higher). Called again whenever
    a Bolt app is built, so it holds wherever the bot runs, tests included."""
    floor = max(logging.WARNING, logging.getLogger().level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(floor)
    # Bolt logs through the logger it is given, and copies its filters into the loggers it makes.
    logging.getLogger(BOLT_LOGGER).addFilter(_UNQUOTED)
    # Bolt copies a level into each logger when it makes it: one made earlier keeps what it copied.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        # The Teams SDK also copies one of its loggers' own level into httpx's whenever it makes a client.
        if isinstance(logger, logging.Logger) and name.startswith(("slack_bolt.", TEAMS_SDK)) and logger.level < floor:
            logger.setLevel(floor)
        # A logger's filters see only its own records, so each of the SDK's loggers gets one.
        if isinstance(logger, logging.Logger) and name.startswith(TEAMS_SDK) and _UNQUOTED_ERRORS not in logger.filters:
            logger.addFilter(_UNQUOTED_ERRORS)


def describe(error: BaseException) -> str:
    """An error for the log: its class and where it was raised (in our code if it passed through
    it), never its message: a message can quote what a person typed."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if frame.filename.startswith(_OUR_CODE)]
    if not (ours or frames):
        return error.__class__.__name__
    where = (ours or frames)[-1]
    if ours:
        path = os.path.relpath(where.filename, _PROJECT)
    else:  # a library's path from its package, the standard library's from its module's folder
        path = where.filename.rsplit("site-packages" + os.sep, 1)[-1]
        path = path if not os.path.isabs(path) else os.path.join(*path.split(os.sep)[-2:])
    return f"{error.__class__.__name__} at {path}:{where.lineno} in {where.name}"
