import pytest
from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade


def test_migrations_build_an_empty_database_and_are_safe_to_run_again(new_database_url):
    db = Database(new_database_url(empty=True))
    assert current_revision(db) is None
    upgrade(db)
    assert current_revision(db) == head_revision(db)
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "escalation",
        "stage",
        "stage_holder",
        "audit_event",
        "outbox_message",
        "person",
        "reminder_sent",
        "case_note",
    } <= tables
    upgrade(db)  # again, on a migrated database
    assert current_revision(db) == head_revision(db)
    db.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(database):
    if not database.is_sqlite:
        pytest.skip("SQLite's settings")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_the_tables_have_no_place_for_a_childs_name_address_or_date_of_birth(database):
    columns = {c["name"] for c in inspect(database.engine).get_columns("escalation")}
    assert not {"child_name", "full_name", "address", "date_of_birth", "dob"} & columns


def test_the_head_read_from_the_files_is_alembics(database):
    # upgrade() skips Alembic when the database is at this head: it must be the one Alembic would reach.
    from storage.migrate import _head_from_files

    assert _head_from_files() == head_revision(database) == current_revision(database)


def test_upgrade_calls_alembic_only_when_the_database_is_behind(new_database_url, monkeypatch):
    import alembic.command

    db = Database(new_database_url(empty=True))
    upgrade(db)
    calls = []
    monkeypatch.setattr(alembic.command, "upgrade", lambda *args: calls.append(args))
    upgrade(db)
    assert calls == []
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0015'")
    upgrade(db)
    assert len(calls) == 1
    db.dispose()
