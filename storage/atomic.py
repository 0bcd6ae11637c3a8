"""Writes that stay right when several instances make them at once: one statement each, never a read and then
a write. On SQLite every change holds the write lock anyway; on PostgreSQL these are what keep it right."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from storage.models import ReferenceCounter


def _insert(session: Session, model: type[SQLModel]):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__)


def next_reference_number(session: Session, year: int) -> int:
    """The next number of `year`'s sequence (1 for the first): INSERT … ON CONFLICT DO UPDATE … RETURNING.

    Two instances asking at once each get their own number: the row lock taken by the update makes the
    second wait for the first and then see its number, on SQLite and on PostgreSQL alike.
    """
    counter = ReferenceCounter.__table__
    statement = (
        _insert(session, ReferenceCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=[counter.c.year], set_={"last": counter.c.last + 1})
        .returning(counter.c.last)
    )
    return session.execute(statement).scalar_one()


def insert_if_absent(session: Session, model: type[SQLModel], key: tuple[str, ...], **values: Any) -> None:
    """Insert a row unless one with the same unique `key` exists or is being inserted by another transaction
    (which this one then waits for): INSERT … ON CONFLICT DO NOTHING. Read the row afterwards."""
    session.execute(_insert(session, model).values(**values).on_conflict_do_nothing(index_elements=list(key)))


def insert_new(session: Session, model: type[SQLModel], rows: list[dict[str, Any]] | Any, key: tuple[str, ...]):
    """Insert the rows (a list of values, or a SELECT of the key's columns and the rest) that no other row has
    the unique `key` of, and return the keys of those inserted: INSERT … ON CONFLICT DO NOTHING RETURNING, one
    statement. A row another transaction is inserting waits for it, then is left out: of two instances inserting
    the same rows at once, each row is returned to one of them."""
    table = model.__table__
    statement = _insert(session, model)
    if isinstance(rows, list):
        statement = statement.values(rows)
    else:
        statement = statement.from_select([c.name for c in rows.selected_columns], rows)
    statement = statement.on_conflict_do_nothing(index_elements=list(key)).returning(*(table.c[k] for k in key))
    return [tuple(row) for row in session.execute(statement)]
