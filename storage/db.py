"""Engine and sessions, on SQLite or PostgreSQL.

Changes run in `transaction()`, reads in `read()`. On SQLite a change takes the write lock at its start
(BEGIN IMMEDIATE) and a read never does (WAL: readers see a snapshot and never hold up a writer). On
PostgreSQL a read is a read-only REPEATABLE READ transaction: one consistent snapshot, no locks taken.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

DEFAULT_DATABASE_URL = "sqlite:///escalations.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000
# An execution option that marks a connection's transactions as reads (see _on_begin).
_READ = "escalation_bot_read"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(_READ):
            # A read: a snapshot from its first statement, no lock that a writer waits for.
            connection.exec_driver_sql("BEGIN")
            return
        # A change takes the write lock at the start: two writers queue on the busy timeout instead of
        # one failing half-way when it upgrades a read lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def shown_url(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: say which setting, not what it holds
        return "(DATABASE_URL)"


class Database:
    def __init__(self, url: str = DEFAULT_DATABASE_URL):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            read_options = {_READ: True}
        else:
            # A server may restart under a long-running bot: test a pooled connection before using it.
            kwargs["pool_pre_ping"] = True
            read_options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _prepare_sqlite(self.engine)
        # The same pool and events, with the options of a read.
        self._reader = self.engine.execution_options(**read_options)
        # SQLite has one writer at a time. Writers in this process (threads sending side by side) queue here, in
        # turn, rather than on SQLite's busy timeout, which sleeps in growing steps; other processes still queue
        # on the busy timeout.
        self._writer = threading.RLock() if self.is_sqlite else nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of change: committed whole at the end, or rolled back whole on any error."""
        with self._writer, Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Read-only work (the digest, lists, what is due): one consistent snapshot that never holds up a change."""
        with Session(self._reader, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def server_version(self) -> str:
        """What the database is, for `escalation-bot check`: 'SQLite 3.40.1', 'PostgreSQL 15.14'."""
        with self.engine.connect() as connection:
            if self.is_sqlite:
                return "SQLite " + connection.exec_driver_sql("SELECT sqlite_version()").scalar()
            return "PostgreSQL " + connection.exec_driver_sql("SHOW server_version").scalar().split()[0]

    def dispose(self) -> None:
        self.engine.dispose()
