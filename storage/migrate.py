"""Bring the database schema up to date. Safe to run again: Alembic applies only what is missing.

At start-up the schema is almost always already at head. Importing Alembic (with Mako and Pygments) and
loading its script directory costs some 150 ms, so `upgrade` first compares the database's alembic_version
with the head read from the migration files' `revision = ...` lines, and calls Alembic only when they differ
(or either cannot be told).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:["']([^"']*)["']|None)\s*$""", re.M)


def alembic_config(database: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def _head_from_files() -> str | None:
    """The one revision no other migration revises, from the files' text; None when that cannot be told
    simply (several heads, a file not written the usual way), and Alembic decides."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(m.group(1, 2) for m in _REVISION.finditer(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _at_head(database: Database) -> bool:
    head = _head_from_files()
    if head is None:
        return False
    try:
        with database.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # no alembic_version yet (a new database): Alembic creates it
        return False
    return versions == [head]


def upgrade(database: Database) -> None:
    if _at_head(database):
        return
    from alembic import command

    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()
