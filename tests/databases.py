"""The databases the tests run on: SQLite files, or a throwaway PostgreSQL the tests start themselves.

`pytest --database=postgresql` starts one PostgreSQL server for the session from Debian's `postgresql`
package (initdb and pg_ctl, as the `postgres` user when run as root, since PostgreSQL refuses to run as
root), in a temporary directory, on a loopback port, with fsync off (nothing in it needs to survive a
crash of this machine). Each test gets its own database, copied from a migrated template in one
`CREATE DATABASE … TEMPLATE` (a few milliseconds), and dropped when the test ends.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SQLITE, POSTGRESQL = "sqlite", "postgresql"
TEMPLATE = "escalation_template"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgresql_bin() -> Path | None:
    """Debian's PostgreSQL programs (/usr/lib/postgresql/<version>/bin), the newest, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


class PostgresServer:
    """One PostgreSQL server in a temporary directory, on 127.0.0.1, for this test session only."""

    def __init__(self):
        bin_dir = postgresql_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)")
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="escalation-bot-pg-"))
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-locale")
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options, "-w", "start")
        self.data = data

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(statement)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class TestDatabases:
    """Fresh databases of the kind this run tests: `new()` a migrated one, `new(empty=True)` one with no schema."""

    __test__ = False  # not a test class

    def __init__(self, kind: str):
        self.kind = kind
        self.server: PostgresServer | None = None
        self._names = (f"t{n}" for n in itertools.count(1))
        self._made: list[str] = []
        if kind == POSTGRESQL:
            from storage.db import Database
            from storage.migrate import upgrade

            self.server = PostgresServer()
            self.server.execute(f"CREATE DATABASE {TEMPLATE}")
            template = Database(self.server.url(TEMPLATE))
            upgrade(template)
            template.dispose()

    def new(self, folder: Path, *, empty: bool = False) -> str:
        name = next(self._names)
        if self.server is None:
            url = f"sqlite:///{folder / f'{name}.db'}"
            if not empty:
                from storage.db import Database
                from storage.migrate import upgrade

                database = Database(url)
                upgrade(database)
                database.dispose()
            return url
        self.server.execute(f"CREATE DATABASE {name}" + ("" if empty else f" TEMPLATE {TEMPLATE}"))
        self._made.append(name)
        return self.server.url(name)

    def copy(self, url: str, folder: Path) -> str:
        """A copy of the database at `url` as it is now (nothing may be connected to it on PostgreSQL)."""
        name = next(self._names)
        if self.server is None:
            import sqlite3
            from contextlib import closing

            target = folder / f"{name}.db"
            with (
                closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as source,
                closing(sqlite3.connect(target)) as t,
            ):
                source.backup(t)
            return f"sqlite:///{target}"
        self.server.execute(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}")
        self._made.append(name)
        return self.server.url(name)

    def drop_made(self) -> None:
        """Drop the databases made since the last call, cutting off anything still connected."""
        while self._made:
            self.server.execute(f"DROP DATABASE IF EXISTS {self._made.pop()} WITH (FORCE)")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
