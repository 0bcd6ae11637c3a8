"""Writes that stay right when several instances make them at once: one statement each, never a read and then
a write. On SQLite every change holds the write lock anyway; on PostgreSQL these are what keep it right."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, bindparam, func, literal, select
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


def insert_new(
    session: Session,
    model: type[SQLModel],
    rows: list[dict[str, Any]] | Any,
    key: tuple[str, ...],
    also: tuple[str, ...] = (),
):
    """Insert the rows (a list of values, or a SELECT of the columns by name) that no other row has the unique
    `key` of, and return the keys of those inserted: INSERT … ON CONFLICT DO NOTHING RETURNING (a list goes as
    one statement compiled once, its rows sent in batches of VALUES). A row another transaction is inserting
    waits for it, then is left out: of two instances inserting the same rows at once, each row is returned to
    one of them. `also`: columns returned after the key's (the ids given to the rows, say)."""
    table = model.__table__
    statement = _insert(session, model)
    if not isinstance(rows, list):
        statement = statement.from_select([c.name for c in rows.selected_columns], rows)
    elif not rows:
        return []
    statement = statement.on_conflict_do_nothing(index_elements=list(key)).returning(*(table.c[k] for k in key + also))
    found = session.execute(statement, rows) if isinstance(rows, list) else session.execute(statement)
    return [tuple(row) for row in found]


def insert_many(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert many rows that share most of their values (a batch of messages: a few payloads, one time) in one
    executemany by the driver. SQLAlchemy's own executemany converts every value of every row (JSON, times)
    again; here each distinct value is converted once, by the column's own type, and the table's scalar
    defaults fill what a row leaves out. All rows carry the same keys."""
    if not rows:
        return
    table, connection = model.__table__, session.connection()
    dialect = connection.dialect
    compiled = table.insert().inline().compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    defaults = {}
    for name in names:
        if name not in rows[0]:
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise ValueError(f"{table.name}.{name}: no value and no scalar default")
            defaults[name] = default.arg
    processors = {name: table.c[name].type._cached_bind_processor(dialect) for name in names}
    converted: dict[tuple[str, int], Any] = {}  # by column and object: `rows` keeps every object alive

    def value(name: str, raw: Any) -> Any:
        process = processors[name]
        if process is None or raw is None:
            return raw
        key = (name, id(raw))
        if key not in converted:
            converted[key] = process(raw)
        return converted[key]

    values = [[value(n, row[n] if n in row else defaults[n]) for n in names] for row in rows]
    parameters = (
        [tuple(v) for v in values] if compiled.positional else [dict(zip(names, v, strict=True)) for v in values]
    )
    connection.exec_driver_sql(compiled.string, parameters)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def as_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]], constants: dict[str, Any]):
    """Rows to insert, each row's own values plus `constants`: for PostgreSQL a SELECT over unnest() of one
    array per column (a handful of parameters, however many rows: psycopg parses a statement of thousands of
    parameters slowly), elsewhere the list of values (sent as batches of VALUES)."""
    if not _is_postgresql(session):
        return [dict(row, **constants) for row in rows]
    table = model.__table__
    names = list(rows[0])
    arrays = [
        bindparam(f"rows_{name}", [row[name] for row in rows], type_=postgresql.ARRAY(table.c[name].type))
        for name in names
    ]
    source = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
    fixed = [literal(value, table.c[name].type).label(name) for name, value in constants.items()]
    return select(*(source.c[name] for name in names), *fixed).select_from(source)


def among(session: Session, column, values: list[Any]):
    """`column IN values`: on PostgreSQL as `= ANY(array)`, one parameter however many values."""
    if _is_postgresql(session):
        return column == any_(bindparam(f"among_{column.name}", values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)
